"""`hatchway serve`: parse flags, hand over to the runtime."""

from __future__ import annotations

import argparse
import asyncio
import logging


def parse_host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise SystemExit(f"hatchway serve: expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def run(args: argparse.Namespace) -> int:
    # Imported here so the offline commands never pay for grpc and the runtime.
    from hatchway.runtime import serve as runtime_serve

    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    admin_host, admin_port = parse_host_port(args.admin_address)
    metrics = parse_host_port(args.metrics_address) if args.metrics_address else None
    settings = runtime_serve.ServeSettings(
        paths=tuple(args.paths),
        admin_host=admin_host,
        admin_port=admin_port,
        metrics_address=metrics,
        bind_address=args.bind_address,
        state_dir=args.state_dir,
        envoy_concurrency=args.envoy_concurrency,
        envoy_drain_time_s=args.envoy_drain_time_s,
        max_connections=args.max_connections,
        envoy_log_level="warn" if args.envoy_log_level == "warning" else args.envoy_log_level,
    )
    return asyncio.run(runtime_serve.serve(settings))
