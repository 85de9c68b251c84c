"""backendRef resolution (§4.5): kind, ReferenceGrant, Service port, appProtocol, endpoints.

Resolution yields a cluster name; the cluster itself (endpoints, upstream TLS) is built at the
end for the clusters the IR actually uses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from hatchway.ir import AppProtocol, Endpoint, Origin, SessionPersistence, WeightedBackend
from hatchway.model.core import EndpointSlice, Service, ServicePort
from hatchway.model.meta import GATEWAY_GROUP, BackendObjectReference
from hatchway.status import ReportWarning, RouteConditionReason
from hatchway.status.findings import Finding
from hatchway.translate.index import Index
from hatchway.translate.xbackends import (
    XBACKEND_GROUP,
    XBACKEND_KIND,
    XBackend,
    find_xbackend,
    selected_endpoints,
    xbackend_cluster_name,
    xbackend_protocol,
    xbackend_session,
)

Problem = tuple[str, str]  # (reason, message)

_APP_PROTOCOLS = {
    None: AppProtocol.HTTP1,
    "http": AppProtocol.HTTP1,
    "HTTP": AppProtocol.HTTP1,
    "kubernetes.io/h2c": AppProtocol.H2C,
    "h2c": AppProtocol.H2C,
    "kubernetes.io/ws": AppProtocol.WS,
    # WebSocket over TLS (GEP-1911): the TLS comes from a BackendTLSPolicy, required.
    "kubernetes.io/wss": AppProtocol.WSS,
    # TLS to the backend comes from a BackendTLSPolicy; what runs inside it is HTTP/1.1.
    "https": AppProtocol.HTTP1,
    "HTTPS": AppProtocol.HTTP1,
}


@dataclass(frozen=True)
class ClusterSpec:
    """What a cluster name stands for, until the cluster is materialized: a Service port, or
    an XBackend (then `service` and `port` are None)."""

    name: str
    service: Service | None
    port: ServicePort | None
    protocol: AppProtocol
    xbackend: XBackend | None = None

    @property
    def origin(self) -> Origin:
        if self.xbackend is not None:
            m = self.xbackend.metadata
            return Origin("XBackend", m.namespace, m.name)
        assert self.service is not None and self.port is not None
        meta = self.service.metadata
        return Origin("Service", meta.namespace, meta.name, section=self.port.name)

    @property
    def number(self) -> int:
        """The port the cluster's name gives: the Service port, or the XBackend's."""
        if self.xbackend is not None:
            return self.xbackend.spec.port.value
        assert self.port is not None
        return self.port.port


def cluster_name(namespace: str, service: str, port: int, protocol: AppProtocol) -> str:
    """`ns/svc:port`, suffixed with the protocol when a route kind forces one (gRPC, L4)."""
    base = f"{namespace}/{service}:{port}"
    if protocol in (AppProtocol.HTTP1, AppProtocol.WS):
        return base
    return f"{base}/{protocol.value}"


Resolved = dict[tuple[object, ...], tuple[str | None, Problem | None]]


class Backends:
    def __init__(
        self,
        index: Index,
        resolved: Resolved | None = None,
        specs: dict[str, ClusterSpec] | None = None,
    ) -> None:
        """`resolved` and `specs` may come from an earlier translation over the very same
        Services and ReferenceGrants (see `TranslateMemo`)."""
        self.index = index
        self.specs: dict[str, ClusterSpec] = {} if specs is None else specs
        # Thousands of routes name the same few Services: resolve each distinct ref once.
        self._resolved: Resolved = {} if resolved is None else resolved

    def resolve(
        self,
        route_kind: str,
        route_namespace: str,
        ref: BackendObjectReference,
        forced: AppProtocol | None = None,
    ) -> tuple[str | None, Problem | None]:
        """The cluster for `ref`, or the reason it is invalid (RefNotPermitted before existence)."""
        ref_key = (ref.group, ref.kind, ref.namespace, ref.name, ref.port)
        key = (route_kind, route_namespace, ref_key, forced)
        found = self._resolved.get(key)
        if found is None:
            found = self._resolved[key] = self._resolve(route_kind, route_namespace, ref, forced)
        return found

    def _resolve(
        self,
        route_kind: str,
        route_namespace: str,
        ref: BackendObjectReference,
        forced: AppProtocol | None,
    ) -> tuple[str | None, Problem | None]:
        ns = ref.namespace or route_namespace
        what = f"backendRef {ns}/{ref.name}"
        R = RouteConditionReason
        if (ref.group, ref.kind) == (XBACKEND_GROUP, XBACKEND_KIND):
            return self._resolve_xbackend(route_namespace, ref, forced)
        if ref.group != "" or ref.kind != "Service":
            return None, (
                R.INVALID_KIND,
                f"{what}: kind {ref.group or 'core'}/{ref.kind} is not supported",
            )
        if not self.index.grants.permitted(
            (GATEWAY_GROUP, route_kind, route_namespace), ("", "Service", ns, ref.name)
        ):
            return None, (R.REF_NOT_PERMITTED, f"{what}: no ReferenceGrant in {ns} allows it")
        service = self.index.services.get((ns, ref.name))
        if service is None:
            return None, (R.BACKEND_NOT_FOUND, f"{what}: Service not found")
        if service.spec.type == "ExternalName":
            return None, (
                R.UNSUPPORTED_PROTOCOL,
                f"{what}: ExternalName Services are not supported",
            )
        if ref.port is None:
            return None, (R.BACKEND_NOT_FOUND, f"{what}: port is required")
        port = next((p for p in service.spec.ports if p.port == ref.port), None)
        if port is None:
            return None, (R.BACKEND_NOT_FOUND, f"{what}: Service has no port {ref.port}")
        protocol, problem = _protocol_for(port, forced)
        if protocol is AppProtocol.WSS and not self._has_tls_policy(ns, ref.name, port.name):
            problem = (
                "appProtocol kubernetes.io/wss is WebSocket over TLS: it needs a "
                "BackendTLSPolicy for this Service port (never sent in plaintext)"
            )
        if problem is not None:
            return None, (R.UNSUPPORTED_PROTOCOL, f"{what}: {problem}")
        name = cluster_name(ns, ref.name, ref.port, protocol)
        self.specs.setdefault(name, ClusterSpec(name, service, port, protocol))
        return name, None

    def _resolve_xbackend(
        self, route_namespace: str, ref: BackendObjectReference, forced: AppProtocol | None
    ) -> tuple[str | None, Problem | None]:
        xb, problem = find_xbackend(self.index, route_namespace, ref)
        if xb is None:
            return None, problem
        protocol, why = xbackend_protocol(xb, forced)
        if why is not None:
            return None, (RouteConditionReason.UNSUPPORTED_PROTOCOL, why)
        m = xb.metadata
        name = xbackend_cluster_name(m.namespace, m.name, xb.spec.port.value, protocol)
        self.specs.setdefault(name, ClusterSpec(name, None, None, protocol, xbackend=xb))
        return name, None

    def session_of(self, weighted: Iterable[WeightedBackend]) -> SessionPersistence | None:
        """The session persistence of the first live XBackend among `weighted` that has one
        (GEP-1619 v1.7: it belongs on the backend)."""
        for b in weighted:
            spec = self.specs.get(b.cluster) if b.cluster is not None else None
            if spec is not None and spec.xbackend is not None and b.weight > 0:
                found = xbackend_session(spec.xbackend)
                if found is not None:
                    return found
        return None

    def _has_tls_policy(self, namespace: str, service: str, port_name: str | None) -> bool:
        """Whether a BackendTLSPolicy targets the Service (or this port of it)."""
        for policy in self.index.snapshot.backend_tls_policies:
            if policy.metadata.namespace != namespace:
                continue
            for t in policy.spec.target_refs:
                if (t.group, t.kind, t.name) == ("", "Service", service) and (
                    t.section_name is None or t.section_name == port_name
                ):
                    return True
        return False

    def endpoints(self, spec: ClusterSpec) -> tuple[Endpoint, ...]:
        """Ready endpoints of the Service port, matched by port *name* across its slices (of
        an XBackend: its Pods')."""
        if spec.xbackend is not None:
            return selected_endpoints(self.index, spec.xbackend)
        assert spec.service is not None and spec.port is not None
        meta = spec.service.metadata
        want = spec.port.name or ""
        out: set[Endpoint] = set()
        for sl in self.index.slices.get((meta.namespace, meta.name), ()):
            if sl.address_type == "FQDN":
                continue  # see `slice_warnings`
            port = next(
                (p.port for p in sl.ports if (p.name or "") == want and p.port is not None), None
            )
            if port is None:
                continue
            for ep in sl.endpoints:
                if ep.conditions.ready is False:
                    continue
                out.update(Endpoint(addr, port) for addr in ep.addresses if _is_ip(addr))
        return tuple(sorted(out))


@lru_cache(maxsize=65536)
def _is_ip(address: str) -> bool:
    # The model checks addresses as the API server does; this keeps a stray one (which
    # Envoy would NACK with every endpoint of the cluster) out whatever the source.
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def slice_warnings(slices: Iterable[EndpointSlice]) -> list[ReportWarning]:
    """A warning per EndpointSlice whose addresses Envoy cannot use (they are skipped)."""
    out: list[ReportWarning] = []
    for sl in slices:
        meta = sl.metadata
        what = f"EndpointSlice/{meta.namespace}/{meta.name}"
        if sl.address_type == "FQDN":
            out.append(
                ReportWarning(
                    what,
                    "addressType FQDN is not supported; its endpoints are skipped",
                    Finding.ENDPOINTS_SKIPPED,
                )
            )
            continue
        bad = sum(1 for ep in sl.endpoints for a in ep.addresses if not _is_ip(a))
        if bad:
            out.append(
                ReportWarning(
                    what,
                    f"{bad} addresses are not IP addresses; skipped",
                    Finding.ENDPOINTS_SKIPPED,
                )
            )
    return out


def _protocol_for(port: ServicePort, forced: AppProtocol | None) -> tuple[AppProtocol, str | None]:
    transport = port.protocol
    if forced is AppProtocol.UDP:
        if transport != "UDP":
            return forced, f"port {port.port} is {transport}, a UDPRoute needs UDP"
        return forced, None
    if transport != "TCP":
        return AppProtocol.TCP, f"port {port.port} is {transport}, not TCP"
    if forced is not None:
        return forced, None
    app = _APP_PROTOCOLS.get(port.app_protocol)
    if app is None:
        return AppProtocol.HTTP1, f"appProtocol {port.app_protocol!r} is not supported for HTTP"
    return app, None
