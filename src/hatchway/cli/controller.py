"""`hatchway controller`: parse flags, hand over to the controller runtime.

Flags beyond the contract's (`--kubeconfig`, `--admin-address`) are optional here, so the
subcommand works with the two the main parser defines; environment variables give the rest
(HATCHWAY_BIND_ADDRESS, HATCHWAY_GATEWAY_ADDRESSES, HATCHWAY_GATEWAY_ADDRESS_POOL,
HATCHWAY_ENVOY_SERVICE, POD_NAMESPACE).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import Sequence


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise SystemExit(f"hatchway controller: expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _pool(value: str | None) -> str | None:
    if not value:
        return None
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise SystemExit(
            f"hatchway controller: expected a CIDR for the address pool, got {value!r}"
        ) from None
    return str(net)


def run(args: argparse.Namespace) -> int:
    # Imported here so the offline commands never pay for lightkube, grpc and the runtime.
    from hatchway.runtime.controller import ControllerSettings, run_controller

    logging.basicConfig(
        level=getattr(logging, str(getattr(args, "log_level", "info")).upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # One line per API request is noise at info level.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    admin_host, admin_port = _host_port(args.admin_address)
    addresses = getattr(args, "gateway_address", None) or [
        a for a in os.environ.get("HATCHWAY_GATEWAY_ADDRESSES", "").split(",") if a
    ]
    settings = ControllerSettings(
        kubeconfig=args.kubeconfig,
        admin_host=admin_host,
        admin_port=admin_port,
        bind_address=getattr(args, "bind_address", None)
        or os.environ.get("HATCHWAY_BIND_ADDRESS", "0.0.0.0"),
        lease_namespace=os.environ.get("POD_NAMESPACE", "default"),
        gateway_addresses=tuple(addresses),
        gateway_address_pool=_pool(
            getattr(args, "gateway_address_pool", None)
            or os.environ.get("HATCHWAY_GATEWAY_ADDRESS_POOL")
        ),
        envoy_service=getattr(args, "envoy_service", None)
        or os.environ.get("HATCHWAY_ENVOY_SERVICE")
        or None,
    )

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await run_controller(settings, stop)

    return asyncio.run(main())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hatchway controller")
    p.add_argument("--kubeconfig", default=None, metavar="FILE")
    p.add_argument("--admin-address", default="127.0.0.1:19000", metavar="HOST:PORT")
    p.add_argument("--bind-address", default=None, metavar="IP")
    p.add_argument("--gateway-address", action="append", default=None, metavar="ADDRESS")
    p.add_argument(
        "--gateway-address-pool",
        default=None,
        metavar="CIDR",
        help="give each Gateway that names no address its own from CIDR (e.g. 127.10.0.0/16)",
    )
    p.add_argument("--envoy-service", default=None, metavar="NAMESPACE/NAME")
    p.add_argument("--log-level", default="info")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m hatchway.cli.controller …`: the same as `hatchway controller …`."""
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
