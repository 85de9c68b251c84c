"""`hatchway` command line: argument parsing and wiring only (see contract.md)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from hatchway.cli import (
    controller,
    explain,
    logs,
    output,
    proxy,
    serve,
    status,
    translate,
    version,
)


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
    parser.add_argument("--version", action=version.VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="run the gateway (control plane + Envoy) from files")
    _add_serve_arguments(p)
    p.set_defaults(run=serve.run)

    _add_offline_commands(sub)

    p = sub.add_parser("controller", help="run against a Kubernetes API server")
    controller.add_arguments(p)
    p.set_defaults(run=controller.run)

    p = sub.add_parser("proxy", help="run one Envoy of a Gateway's provisioned data plane")
    proxy.add_arguments(p)
    p.set_defaults(run=proxy.run)

    p = sub.add_parser("version", help="print Hatchway's, Envoy's and Gateway API's versions")
    p.set_defaults(run=version.run)
    return parser


def _add_serve_arguments(p: argparse.ArgumentParser) -> None:
    _add_inputs(p)
    p.add_argument(
        "--admin-address",
        default="127.0.0.1:19000",
        metavar="HOST:PORT",
        help="admin API (status, errors, config, metrics); keep it on loopback",
    )
    p.add_argument(
        "--metrics-address",
        default=None,
        metavar="HOST:PORT",
        help="also serve /metrics, /healthz and /readyz (only) here, e.g. 0.0.0.0:19001",
    )
    p.add_argument(
        "--bind-address",
        default="0.0.0.0",
        metavar="IP",
        help="where listeners bind when a Gateway names no IPAddress (default 0.0.0.0)",
    )
    p.add_argument(
        "--state-dir",
        default=None,
        metavar="DIR",
        help="Envoy's bootstrap and sockets (default: a private temporary directory)",
    )
    p.add_argument(
        "--envoy-concurrency", type=int, default=None, metavar="N", help="Envoy worker threads"
    )
    p.add_argument(
        "--envoy-drain-time-s",
        type=int,
        default=5,
        metavar="S",
        help="how long connections may drain on shutdown (default 5)",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=50_000,
        metavar="N",
        help="process-wide cap on downstream connections (default 50000)",
    )
    p.add_argument(
        "--max-heap",
        type=serve.parse_size,
        default=None,
        metavar="SIZE",
        help="Envoy's heap budget (e.g. 512Mi, 2Gi): past 95%% it frees memory, past 98%% it "
        "refuses new requests (503); default 3/4 of the memory limit",
    )
    _add_observability_arguments(p)


def _add_observability_arguments(p: argparse.ArgumentParser) -> None:
    """What `serve` logs, counts and traces."""
    p.add_argument(
        "--access-log",
        type=serve.parse_access_log,
        default="",
        metavar="PATH|off",
        help="Envoy's access log: one line per request or connection (default: stdout)",
    )
    p.add_argument(
        "--route-metrics",
        default="on",
        choices=["on", "off"],
        help="per-route request counts and durations on /metrics (default on)",
    )
    p.add_argument(
        "--tracing-endpoint",
        default=None,
        metavar="HOST:PORT",
        help="trace HTTP requests to this OpenTelemetry collector (OTLP over gRPC); a "
        "Gateway's XTelemetryPolicy overrides it",
    )
    p.add_argument(
        "--access-log-format",
        default="json",
        choices=["json", "text"],
        help="access log lines as JSON objects (default) or text",
    )
    levels = ["debug", "info", "warning", "error"]
    p.add_argument("--log-level", default="info", choices=levels)
    logs.add_argument(p)
    # Envoy's info level lists every compiled-in extension at start: too loud by default.
    p.add_argument("--envoy-log-level", default="warning", choices=levels)


def _add_offline_commands(sub: Any) -> None:
    """`status`, `translate` and `explain`: the core run once over files, no serving."""
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
    p.add_argument(
        "--show-secrets",
        action="store_true",
        help="print private keys instead of their fingerprints (offline debugging only)",
    )
    p.set_defaults(run=translate.run)

    p = sub.add_parser("explain", help="trace which listener/route/rule/backend a request hits")
    _add_inputs(p)
    p.add_argument("-X", "--request", dest="method", default="GET", metavar="METHOD")
    p.add_argument("-H", "--header", dest="headers", action="append", default=[], metavar="H")
    p.add_argument("--grpc", default=None, metavar="SERVICE/METHOD", help="explain a gRPC call")
    p.add_argument("-o", "--output", default="text", choices=["text", "json"])
    p.add_argument("url", metavar="URL")
    p.set_defaults(run=explain.run)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # a reader that stopped early: not an error of ours
        output.silence_stdout()
        return 0
