"""`hatchway controller`: parse flags, hand over to the controller runtime.

Environment variables stand in for flags not given (HATCHWAY_BIND_ADDRESS,
HATCHWAY_GATEWAY_ADDRESSES, HATCHWAY_GATEWAY_ADDRESS_POOL, HATCHWAY_ENVOY_SERVICE) and name
the Lease's namespace (POD_NAMESPACE).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hatchway.cli import failures, logs

if TYPE_CHECKING:
    from hatchway.runtime.webhook import WebhookSettings


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


def _webhook(args: argparse.Namespace) -> WebhookSettings | None:
    from hatchway.runtime.webhook import WebhookSettings

    if not args.webhook_address:
        return None
    host, port = _host_port(args.webhook_address)
    names = tuple(args.webhook_server_name or ())
    if not names:
        if host in ("0.0.0.0", "::", ""):
            raise SystemExit(
                "hatchway controller: --webhook-server-name is needed with a wildcard "
                "--webhook-address (the name the API server reaches the webhook by)"
            )
        names = (host,)
    return WebhookSettings(
        host=host,
        port=port,
        server_names=names,
        configuration=args.webhook_configuration,
    )


def run(args: argparse.Namespace) -> int:
    # Imported here so the offline commands never pay for lightkube, grpc and the runtime.
    from hatchway.runtime.controller import ControllerSettings, run_controller
    from hatchway.runtime.serve import STOP_SIGNALS

    logs.setup(args.log_level, args.log_format)
    # One line per API request is noise at info level.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("httpcore2").setLevel(logging.WARNING)
    if args.data_plane == "provisioned" and not (args.xds_service and args.proxy_image):
        raise SystemExit(
            "hatchway controller: --data-plane provisioned (the default) needs --xds-service "
            "(how proxies reach this controller) and --proxy-image (the image they run); "
            "--data-plane embedded runs one Envoy here instead"
        )
    admin_host, admin_port = _host_port(args.admin_address)
    metrics = _host_port(args.metrics_address) if args.metrics_address else None
    addresses = args.gateway_address or [
        a for a in os.environ.get("HATCHWAY_GATEWAY_ADDRESSES", "").split(",") if a
    ]
    settings = ControllerSettings(
        kubeconfig=args.kubeconfig,
        admin_host=admin_host,
        admin_port=admin_port,
        metrics_address=metrics,
        bind_address=args.bind_address or os.environ.get("HATCHWAY_BIND_ADDRESS", "0.0.0.0"),
        lease_namespace=os.environ.get("POD_NAMESPACE", "default"),
        gateway_addresses=tuple(addresses),
        gateway_address_pool=_pool(
            args.gateway_address_pool or os.environ.get("HATCHWAY_GATEWAY_ADDRESS_POOL")
        ),
        envoy_service=args.envoy_service or os.environ.get("HATCHWAY_ENVOY_SERVICE") or None,
        data_plane=args.data_plane,
        xds_listen=_host_port(args.xds_listen),
        xds_service=_host_port(args.xds_service) if args.xds_service else None,
        proxy_image=args.proxy_image,
        ca_secret=args.ca_secret,
        webhook=_webhook(args),
    )

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, stop.set)
        return await run_controller(settings, stop)

    try:
        return asyncio.run(main())
    except Exception as exc:
        line = failures.describe(exc)
        if line is None:
            raise  # not an environment problem: the traceback is what a bug report needs
        logging.getLogger("hatchway.controller").debug("failure details", exc_info=exc)
        print(f"hatchway controller: {line}", file=sys.stderr)
        return 1


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kubeconfig", default=None, metavar="FILE")
    p.add_argument("--admin-address", default="127.0.0.1:19000", metavar="HOST:PORT")
    p.add_argument(
        "--metrics-address",
        default=None,
        metavar="HOST:PORT",
        help="also serve /metrics, /healthz and /readyz (only) here, e.g. 0.0.0.0:19001",
    )
    p.add_argument("--bind-address", default=None, metavar="IP")
    p.add_argument(
        "--gateway-address",
        action="append",
        default=None,
        metavar="ADDRESS",
        help="address written to Gateway status.addresses; repeatable",
    )
    p.add_argument(
        "--gateway-address-pool",
        default=None,
        metavar="CIDR",
        help="give each Gateway that names no address its own from CIDR (e.g. 127.10.0.0/16)",
    )
    p.add_argument(
        "--envoy-service",
        default=None,
        metavar="NAMESPACE/NAME",
        help="Service fronting Envoy, whose addresses go to Gateway status.addresses",
    )
    p.add_argument(
        "--data-plane",
        default=os.environ.get("HATCHWAY_DATA_PLANE", "provisioned"),
        choices=["provisioned", "embedded"],
        help="provisioned (default): every Gateway gets its own Envoy Deployment and Service; "
        "embedded: one Envoy in this process serves every Gateway",
    )
    p.add_argument(
        "--xds-listen",
        default="0.0.0.0:18000",
        metavar="HOST:PORT",
        help="where the proxies get xDS (mutual TLS) and, on PORT+1, their certificates",
    )
    p.add_argument(
        "--xds-service",
        default=os.environ.get("HATCHWAY_XDS_SERVICE"),
        metavar="HOST:PORT",
        help="this controller's Service as proxies dial it (hatchway.hatchway-system.svc:18000)",
    )
    p.add_argument(
        "--proxy-image",
        default=os.environ.get("HATCHWAY_PROXY_IMAGE"),
        metavar="IMAGE",
        help="the image the proxies run (this image: `hatchway proxy`)",
    )
    _add_certificate_arguments(p)
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    logs.add_argument(p)


def _add_certificate_arguments(p: argparse.ArgumentParser) -> None:
    """The controller's certificate authority and the admission webhook it serves."""
    p.add_argument(
        "--ca-secret",
        default="hatchway-xds-ca",
        metavar="NAME",
        help="the Secret (in POD_NAMESPACE) holding the controller's certificate authority "
        "(xDS and the admission webhook)",
    )
    p.add_argument(
        "--webhook-address",
        default=None,
        metavar="HOST:PORT",
        help="serve the validating admission webhook (HTTPS, path /validate) here",
    )
    p.add_argument(
        "--webhook-server-name",
        action="append",
        default=None,
        metavar="NAME",
        help="DNS name or IP the API server reaches the webhook by (its certificate's names); "
        "repeatable; default: the --webhook-address host",
    )
    p.add_argument(
        "--webhook-configuration",
        default=None,
        metavar="NAME",
        help="ValidatingWebhookConfiguration whose caBundle the controller keeps set to its CA",
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hatchway controller")
    add_arguments(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m hatchway.cli.controller …`: the same as `hatchway controller …`."""
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
