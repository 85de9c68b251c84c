"""Upstream side of the IR: clusters and their endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hatchway.ir.frozen import quick_init
from hatchway.ir.origin import Origin


class AppProtocol(StrEnum):
    """How the gateway speaks to a backend, from the Service port's `appProtocol` (GEP-1911)."""

    HTTP1 = "http1"
    H2C = "h2c"  # kubernetes.io/h2c, and gRPC backends
    WS = "ws"  # kubernetes.io/ws: HTTP/1.1 with WebSocket upgrades
    WSS = "wss"
    TCP = "tcp"
    UDP = "udp"


@quick_init
@dataclass(frozen=True, order=True, slots=True)
class Endpoint:
    address: str
    port: int


@quick_init
@dataclass(frozen=True, slots=True)
class UpstreamTLS:
    """TLS from Envoy to a backend (BackendTLSPolicy), plus the Gateway's client certificate."""

    sni: str
    ca_pem: str | None  # None with use_system_cas
    use_system_cas: bool = False
    # Names the server certificate must present; empty means "must match `sni`".
    san_dns: tuple[str, ...] = ()
    san_uri: tuple[str, ...] = ()
    client_cert_pem: str | None = None
    client_key_pem: str | None = None
    # Set when the policy is invalid: traffic must fail (5xx), never fall back to plaintext.
    invalid: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class Cluster:
    """One backend port: a Service port (or a mirror target), with its ready endpoints.

    `name` is the stable identity, e.g. `default/echo:8080`; endpoints may be empty (503).
    """

    name: str
    service: Origin
    port: int  # the Service port
    protocol: AppProtocol = AppProtocol.HTTP1
    endpoints: tuple[Endpoint, ...] = ()
    tls: UpstreamTLS | None = None
    connect_timeout_ms: int = 10_000
