"""`hatchway serve`: parse flags, hand over to the runtime."""

from __future__ import annotations

import argparse
import asyncio
import os

from hatchway.cli import logs


def parse_host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise SystemExit(f"hatchway serve: expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}


def parse_size(value: str) -> int:
    """Bytes from `1073741824`, `512Mi`, `2Gi`, `1G` (Kubernetes quantity suffixes)."""
    number = value.rstrip("KMGi")
    unit = value[len(number) :]
    if not number.isdigit() or unit not in _UNITS or int(number) == 0:
        raise argparse.ArgumentTypeError(f"expected a size such as 512Mi or 2Gi, got {value!r}")
    return int(number) * _UNITS[unit]


def parse_access_log(value: str) -> str | None:
    """`off` -> None (no access log), `-` -> stdout (""), else a file path whose directory
    exists and is writable (Envoy would refuse every listener that cannot open it)."""
    if value == "off":
        return None
    if value in ("", "-", "stdout"):
        return ""
    path = os.path.abspath(value)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{folder} is not a writable directory")
    if os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{path} is a directory")
    return path


def run(args: argparse.Namespace) -> int:
    # Imported here so the offline commands never pay for grpc and the runtime.
    from hatchway.runtime import serve as runtime_serve
    from hatchway.xds.telemetry import AccessLog

    logs.setup(args.log_level, args.log_format)
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
        max_heap_bytes=args.max_heap,
        envoy_log_level="warn" if args.envoy_log_level == "warning" else args.envoy_log_level,
        route_metrics=args.route_metrics == "on",
        tracing_endpoint=parse_host_port(args.tracing_endpoint) if args.tracing_endpoint else None,
        access_log=None
        if args.access_log is None
        else AccessLog(args.access_log or None, args.access_log_format),
    )
    return asyncio.run(runtime_serve.serve(settings))
