"""Translation settings and result."""

from __future__ import annotations

from dataclasses import dataclass

from hatchway.ir import IR
from hatchway.status import StatusReport

CONTROLLER_NAME = "hatchway.dev/gateway-controller"


@dataclass(frozen=True)
class Settings:
    controller_name: str = CONTROLLER_NAME
    # Where listeners bind when a Gateway has no IPAddress `spec.addresses`.
    bind_address: str = "0.0.0.0"
    # TLS Terminate and Passthrough listeners may share a port (feature TLSRouteModeMixed).
    tls_mode_mixed: bool = True
    # Report rule matches that can never win (warnings only).
    detect_shadowed: bool = True


@dataclass(frozen=True)
class Translation:
    report: StatusReport
    ir: IR
