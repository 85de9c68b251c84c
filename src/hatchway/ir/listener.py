"""Downstream side of the IR: one Listener per bound address and port, and the IR root."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hatchway.ir.backend import Cluster
from hatchway.ir.origin import Origin
from hatchway.ir.route import VirtualHost, WeightedBackend
from hatchway.ir.telemetry import Tracing


class Protocol(StrEnum):
    HTTP = "HTTP"  # HTTP/1.1 and h2c with prior knowledge
    HTTPS = "HTTPS"
    TLS = "TLS"  # passthrough and/or terminate, routed by SNI
    TCP = "TCP"
    UDP = "UDP"


@dataclass(frozen=True, slots=True)
class TLSCertificate:
    name: str  # stable: `namespace/secret-name`
    cert_pem: str
    key_pem: str


@dataclass(frozen=True, slots=True)
class ClientValidation:
    """Frontend client-certificate validation (Gateway spec.tls.frontend)."""

    ca_pem: str
    allow_insecure_fallback: bool = False


@dataclass(frozen=True, slots=True)
class TLSTermination:
    certificates: tuple[TLSCertificate, ...]
    client_validation: ClientValidation | None = None
    alpn: tuple[str, ...] = ("h2", "http/1.1")


@dataclass(frozen=True, slots=True)
class L4Route:
    """TCP, UDP or TLS (passthrough/terminated) forwarding. No valid backend -> close."""

    origin: Origin
    backends: tuple[WeightedBackend, ...]


@dataclass(frozen=True, slots=True)
class FilterChain:
    """One way of handling connections on a listener, chosen by SNI (`server_names`).

    Exactly one of `virtual_hosts` (HTTP/HTTPS) and `l4` (TCP/UDP/TLS) is set.
    `server_names` empty means "any / no SNI". `listener` is the Gateway listener it serves.
    """

    name: str
    listener: Origin
    server_names: tuple[str, ...] = ()
    tls: TLSTermination | None = None
    virtual_hosts: tuple[VirtualHost, ...] | None = None
    l4: L4Route | None = None


@dataclass(frozen=True, slots=True)
class Listener:
    """One bound socket: every Gateway listener on this address and port shares it.

    For HTTP there is a single chain whose virtual hosts cover all Gateway listeners on the
    port. HTTPS and TLS have a chain per Gateway listener hostname (SNI), plus one without
    server names for the catch-all listener if any.
    """

    name: str  # stable: `<protocol>/<address>/<port>` style, from the xds naming scheme
    address: str
    port: int
    protocol: Protocol
    chains: tuple[FilterChain, ...]
    gateways: tuple[Origin, ...]  # Gateways (and ListenerSets) contributing to this socket
    # (ListenerSet, its parent Gateway) for each ListenerSet among `gateways`: telemetry
    # names a ListenerSet's listener under the Gateway it extends.
    listener_sets: tuple[tuple[Origin, Origin], ...] = ()
    # The Gateway (namespace, name) whose own data plane binds this socket (each Gateway
    # provisioned its own proxies); None: one data plane serves every Gateway.
    owner: tuple[str, str] | None = None
    # Spans for the HTTP requests of this socket (its Gateway's XTelemetryPolicy); None: the
    # deployment's default (`serve --tracing-endpoint`, else none).
    tracing: Tracing | None = None


@dataclass(frozen=True, slots=True)
class IR:
    listeners: tuple[Listener, ...] = ()  # sorted by (address, port, protocol)
    clusters: tuple[Cluster, ...] = ()  # sorted by name; only clusters something refers to
