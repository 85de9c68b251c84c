"""`hatchway proxy`: run one Envoy of a Gateway's data plane (in a provisioned Pod).

Environment: POD_NAME names the node for the control plane; HATCHWAY_XDS_CA holds the
controller's CA certificate (PEM) unless `--xds-ca-file` names a file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
from pathlib import Path

from hatchway.cli import logs
from hatchway.cli.serve import parse_host_port


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gateway", metavar="NAMESPACE/NAME", help="the Gateway this proxy serves")
    p.add_argument("--xds-address", metavar="HOST:PORT", help="the controller's xDS Service")
    p.add_argument(
        "--token-file",
        default="/var/run/secrets/hatchway/token",
        metavar="FILE",
        help="the Pod's ServiceAccount token for the controller (audience hatchway.dev/xds)",
    )
    p.add_argument("--xds-ca-file", default=None, metavar="FILE", help="the controller's CA")
    p.add_argument("--state-dir", default="/tmp/hatchway-proxy", metavar="DIR")
    p.add_argument(
        "--metrics-address",
        default="0.0.0.0:19001",
        metavar="HOST:PORT",
        help="/healthz, /readyz and /metrics (default 0.0.0.0:19001)",
    )
    p.add_argument("--drain-seconds", type=int, default=10, metavar="S")
    p.add_argument("--envoy-log-level", default="warning")
    p.add_argument("--envoy-concurrency", type=int, default=None, metavar="N")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    logs.add_argument(p)
    p.add_argument(
        "--drain",
        action="store_true",
        help="drain the proxy running with --state-dir and wait (the Pod's preStop hook)",
    )


def run(args: argparse.Namespace) -> int:
    from hatchway.runtime import proxy
    from hatchway.runtime.serve import STOP_SIGNALS

    logs.setup(args.log_level, args.log_format)
    state = Path(args.state_dir)
    if args.drain:
        return asyncio.run(proxy.drain(state, args.drain_seconds))
    missing = [f for f in ("gateway", "xds_address") if not getattr(args, f)]
    if missing:
        flags = ", ".join("--" + f.replace("_", "-") for f in missing)
        raise SystemExit(f"hatchway proxy: {flags} required")
    namespace, sep, name = args.gateway.partition("/")
    if not sep or not namespace or not name:
        raise SystemExit(f"hatchway proxy: --gateway wants NAMESPACE/NAME, got {args.gateway!r}")
    xds_host, xds_port = parse_host_port(args.xds_address)
    ca = Path(args.xds_ca_file).read_bytes() if args.xds_ca_file else None
    ca = ca or os.environ.get("HATCHWAY_XDS_CA", "").encode()
    if b"BEGIN CERTIFICATE" not in ca:
        raise SystemExit("hatchway proxy: the controller's CA is needed (HATCHWAY_XDS_CA)")
    metrics_host, metrics_port = parse_host_port(args.metrics_address)
    pod = os.environ.get("POD_NAME") or socket.gethostname()
    settings = proxy.ProxySettings(
        gateway=args.gateway,
        node_id=f"{args.gateway}/{pod}",
        xds_host=xds_host,
        xds_port=xds_port,
        xds_ca_pem=ca,
        token_file=Path(args.token_file),
        state_dir=state,
        metrics_host=metrics_host,
        metrics_port=metrics_port,
        drain_seconds=args.drain_seconds,
        envoy_log_level="warn" if args.envoy_log_level == "warning" else args.envoy_log_level,
        envoy_concurrency=args.envoy_concurrency,
    )

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, stop.set)
        return await proxy.run_proxy(settings, stop)

    return asyncio.run(main())
