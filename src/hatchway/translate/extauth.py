"""The ExternalAuth filter (GEP-1494), on a route rule or as a listener's pre-routing filter
(GEP-5224): its backendRef resolved to a cluster, its settings as the data plane needs them."""

from __future__ import annotations

from hatchway.ir import AppProtocol, ExternalAuth
from hatchway.model.routes import HTTPExternalAuthFilter
from hatchway.translate.backends import Backends, Problem


def external_auth(
    backends: Backends,
    from_kind: str,
    namespace: str,
    f: HTTPExternalAuthFilter,
    *,
    pre_routing: bool = False,
) -> tuple[ExternalAuth, Problem | None]:
    """The filter for an object of `from_kind` in `namespace` (the ReferenceGrant side), and
    the problem with its backendRef (the IR then has no cluster: requests are answered 500)."""
    ref = f.backend_ref
    # The gRPC protocol is HTTP/2 whatever the Service says; HTTP follows its appProtocol.
    forced = AppProtocol.H2C if f.protocol == "GRPC" else None
    cluster, problem = backends.resolve(from_kind, namespace, ref, forced)
    http = f.http
    return (
        ExternalAuth(
            protocol=f.protocol,
            cluster=cluster,
            authority=f"{ref.name}.{ref.namespace or namespace}",
            path_prefix=(http.path or "") if http is not None else "",
            allowed_headers=_lower(
                http.allowed_headers
                if http is not None
                else f.grpc.allowed_headers
                if f.grpc
                else ()
            ),
            allowed_response_headers=_lower(http.allowed_response_headers if http else ()),
            forward_body_bytes=f.forward_body.max_size or 0 if f.forward_body else 0,
            pre_routing=pre_routing,
        ),
        problem,
    )


def _lower(names: tuple[str, ...]) -> tuple[str, ...]:
    """Header names are case-insensitive: lower-cased, each once, in order."""
    return tuple(dict.fromkeys(n.lower() for n in names))
