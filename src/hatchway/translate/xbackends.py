"""XBackend (gateway.networking.x-k8s.io, GEP-4894) as a route backend.

`EndpointSelector`: the endpoints are the ready Pods of the XBackend's namespace whose labels
include `matchLabels`, at `port.number` — read from Pod objects (the controller watches them;
standalone reads Pods from files, `status.podIP(s)` and a Ready condition each). No Service is
made for them. `ExternalHostname` is not supported: a hostname the gateway resolves itself
could name its own loopback endpoints (GEP-4894's confused-deputy warning).

An XBackend must live in the namespace of the route naming it (no ReferenceGrant opens
that). Its `protocol` says how to speak to it; its `tls` is the TLS Envoy originates (as a
BackendTLSPolicy would); its `sessionPersistence` applies to the routes forwarding to it.
"""

from __future__ import annotations

from hatchway.ir import AppProtocol, Endpoint, SessionPersistence, UpstreamTLS
from hatchway.model.meta import BackendObjectReference
from hatchway.model.xbackend import XBACKEND_GROUP, XBACKEND_KIND, XBackend
from hatchway.status import RouteConditionReason
from hatchway.translate.index import Index
from hatchway.translate.pem import as_text, check_ca_bundle, check_key_pair
from hatchway.translate.sessions import session_persistence
from hatchway.translate.trust import is_trust_bundle, trust_bundle

__all__ = [
    "XBACKEND_GROUP",
    "XBACKEND_KIND",
    "XBackend",
    "find_xbackend",
    "selected_endpoints",
    "xbackend_cluster_name",
    "xbackend_protocol",
    "xbackend_session",
    "xbackend_tls",
]

Problem = tuple[str, str]
R = RouteConditionReason

# protocol -> how Envoy speaks to it (TLS, when asked for, comes from `tls`).
_PROTOCOLS = {
    None: AppProtocol.HTTP1,
    "HTTP": AppProtocol.HTTP1,
    "HTTP11": AppProtocol.HTTP1,
    "MCP": AppProtocol.HTTP1,  # streamable HTTP
    "H2C": AppProtocol.H2C,
    "HTTP2": AppProtocol.H2C,  # over the XBackend's TLS
    "GRPC": AppProtocol.H2C,
    "WSS": AppProtocol.WSS,
    "TCP": AppProtocol.TCP,
}


def find_xbackend(
    index: Index, route_namespace: str, ref: BackendObjectReference
) -> tuple[XBackend | None, Problem | None]:
    ns = ref.namespace or route_namespace
    what = f"backendRef XBackend {ns}/{ref.name}"
    if ns != route_namespace:
        return None, (R.REF_NOT_PERMITTED, f"{what}: an XBackend must be in the route's namespace")
    xb = index.xbackends.get((ns, ref.name))
    if xb is None:
        return None, (R.BACKEND_NOT_FOUND, f"{what}: not found")
    if xb.spec.type != "EndpointSelector":
        return None, (
            R.INVALID_KIND,
            f"{what}: type {xb.spec.type} is not supported (only EndpointSelector: an external "
            "hostname could resolve to the gateway's own loopback endpoints)",
        )
    return xb, None


def xbackend_protocol(xb: XBackend, forced: AppProtocol | None) -> tuple[AppProtocol, str | None]:
    """How Envoy speaks to it; a route kind may force HTTP/2 (gRPC) or TCP/UDP (L4)."""
    m = xb.metadata
    own = _PROTOCOLS[xb.spec.protocol]
    what = f"backendRef XBackend {m.namespace}/{m.name}"
    if forced is AppProtocol.UDP:
        return forced, f"{what}: an XBackend speaks TCP, a UDPRoute needs UDP"
    if forced is not None:
        return forced, None
    if own is AppProtocol.TCP:
        return own, f"{what}: protocol TCP cannot carry HTTP"
    return own, None


def xbackend_cluster_name(namespace: str, name: str, port: int, protocol: AppProtocol) -> str:
    base = f"{namespace}/xbackend/{name}:{port}"
    if protocol in (AppProtocol.HTTP1, AppProtocol.WS):
        return base
    return f"{base}/{protocol.value}"


def selected_endpoints(index: Index, xb: XBackend) -> tuple[Endpoint, ...]:
    """The ready Pods of its namespace whose labels include every selector label."""
    selector = xb.spec.endpoint_selector
    if selector is None:
        return ()
    want = selector.match_labels.items()
    port = xb.spec.port.value
    out: set[Endpoint] = set()
    for pod in index.pods.get(xb.metadata.namespace, ()):
        if want <= pod.metadata.labels.items() and pod.ready:
            out.update(Endpoint(ip, port) for ip in pod.addresses)
    return tuple(sorted(out))


def xbackend_session(xb: XBackend) -> SessionPersistence | None:
    return session_persistence(xb.spec.session_persistence)


def xbackend_tls(index: Index, xb: XBackend, bundles: bool) -> UpstreamTLS | None:
    """The TLS Envoy originates to it (None: plaintext); anything unusable fails closed."""
    tls = xb.spec.tls
    v = tls.validation
    if tls.mode == "None" or v is None:
        return None
    problems: list[str] = []
    cas = _cas(index, xb, bundles, problems)
    system = v.well_known_ca_certificates == "System"
    client = _client_certificate(index, xb, problems) if tls.mode == "ClientAndServer" else None
    invalid = None
    if not cas and not system:
        invalid = "; ".join(problems) or "no valid CA certificate"
    elif tls.mode == "ClientAndServer" and client is None:
        invalid = "; ".join(problems)
    sans = v.subject_alt_names
    return UpstreamTLS(
        sni=v.hostname,
        ca_pem="".join(cas) or None,
        use_system_cas=system,
        san_dns=tuple(s.hostname for s in sans if s.type == "Hostname" and s.hostname),
        san_uri=tuple(s.uri for s in sans if s.type == "URI" and s.uri),
        client_cert_pem=client[0] if client else None,
        client_key_pem=client[1] if client else None,
        invalid=invalid,
    )


def _cas(index: Index, xb: XBackend, bundles: bool, problems: list[str]) -> list[str]:
    """The CA bundles its validation names (ConfigMaps of its namespace, ClusterTrustBundles)."""
    v = xb.spec.tls.validation
    out: list[str] = []
    for ref in v.ca_certificate_refs if v is not None else ():
        if is_trust_bundle(ref.group, ref.kind):
            pem, err = trust_bundle(index, ref.name, bundles)
            if pem is not None:
                out.append(pem)
            elif err is not None:
                problems.append(err[1])
            continue
        is_cm = (ref.group, ref.kind) == ("", "ConfigMap")
        cm = index.config_maps.get((xb.metadata.namespace, ref.name)) if is_cm else None
        ca = cm.data.get("ca.crt") if cm is not None else None
        problem = check_ca_bundle(ca.encode()) if ca else "missing, or not a ConfigMap"
        if ca and problem is None:
            out.append(ca if ca.endswith("\n") else ca + "\n")
        else:
            problems.append(f"caCertificateRef {ref.name}: {problem}")
    return out


def _client_certificate(index: Index, xb: XBackend, problems: list[str]) -> tuple[str, str] | None:
    ref = xb.spec.tls.client_certificate_ref
    if ref is None:
        return None
    ns = ref.namespace or xb.metadata.namespace
    if ns != xb.metadata.namespace:
        problems.append(
            f"clientCertificateRef {ns}/{ref.name}: must be in the XBackend's namespace"
        )
        return None
    secret = index.secrets.get((ns, ref.name))
    crt = secret.data.get("tls.crt") if secret else None
    key = secret.data.get("tls.key") if secret else None
    if crt is None or key is None or check_key_pair(crt, key).problem is not None:
        problems.append(
            f"clientCertificateRef {ns}/{ref.name}: missing, or no valid tls.crt/tls.key"
        )
        return None
    return as_text(crt), as_text(key)
