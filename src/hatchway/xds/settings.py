"""Knobs of the IR -> xDS step that are not in the IR (deployment choices, not user intent)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hatchway.xds.hardening import DEFAULT_HARDENING, Hardening
from hatchway.xds.telemetry import AccessLog


@dataclass(frozen=True)
class XdsSettings:
    hardening: Hardening = field(default_factory=lambda: DEFAULT_HARDENING)
    # Trust store for BackendTLSPolicy `wellKnownCACertificates: System`: Envoy reads it.
    system_ca_file: str = "/etc/ssl/certs/ca-certificates.crt"
    # Cookie name when SessionPersistence has no sessionName.
    default_session_cookie: str = "hatchway-session"
    # Header name when SessionPersistence type Header has no sessionName.
    default_session_header: str = "x-hatchway-session"
    # One line per request / connection / session (None: no access log). Default: JSON on
    # Envoy's stdout, which is serve's (or the proxy Pod's) stdout.
    access_log: AccessLog | None = field(default_factory=AccessLog)
    # Requests and durations per route (Envoy's stats access logger, read by /metrics).
    route_stats: bool = True
    # OTLP/gRPC collector (host, port) that HTTP sockets trace to unless their Gateway's
    # XTelemetryPolicy says otherwise (`serve --tracing-endpoint`); None: no default tracing.
    tracing_endpoint: tuple[str, int] | None = None
    # (listener port, port Envoy binds) where they differ: a provisioned proxy runs as a
    # non-root user, so ports below 1024 are bound unprivileged and its Service maps them.
    bind_ports: tuple[tuple[int, int], ...] = ()

    def bind_port(self, port: int) -> int:
        for listener_port, bound in self.bind_ports:
            if listener_port == port:
                return bound
        return port
