"""ExternalAuth as Envoy ext_authz filters: one HTTP filter instance per distinct
configuration, disabled in the connection manager and enabled where it applies — on a route
(the rule's filter, after routing) or on a virtual host (a listener's pre-routing filters,
in their order, clearing the route cache so routing sees the service's header changes).

Fail closed: a service that cannot be reached, answers a gRPC error or an HTTP 5xx denies
the request (403); a service that could not be resolved answers every request 500. The
service may not change `Host`, `:authority` (GEP-5224) or another pseudo-header, nor the
headers that frame the request body: such changes are ignored.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterable
from typing import Any

from envoy.config.core.v3 import config_source_pb2
from envoy.config.route.v3 import route_components_pb2
from envoy.extensions.filters.http.ext_authz.v3 import ext_authz_pb2

from hatchway.ir import ExternalAuth, VirtualHost
from hatchway.xds.names import INVALID_BACKEND_CLUSTER

EXT_AUTHZ = "envoy.filters.http.ext_authz"
DENIED_ON_ERROR = 403  # the service failed: the request is not let through
UNRESOLVED = 500  # no service to ask at all

# Headers a service's answer may not set on the request besides the system ones (`host`
# and `:`-pseudo-headers: where it goes): its framing.
_FRAMING = "^(content-length|transfer-encoding|connection|keep-alive|te|upgrade|trailer)$"


def filter_name(auth: ExternalAuth, position: int = 0) -> str:
    """Stable per configuration (and, before routing, per position in the listener's list)."""
    digest = hashlib.sha256(repr(auth).encode()).hexdigest()[:12]
    if auth.pre_routing:
        return f"{EXT_AUTHZ}/listener/{position}/{digest}"
    return f"{EXT_AUTHZ}/route/{digest}"


_ROUTE_AUTH = operator.attrgetter("external_auth")


def chain_filters(vhosts: Iterable[VirtualHost]) -> list[tuple[str, Any]]:
    """The ext_authz instances a connection manager needs for these virtual hosts, in the
    order they must run: pre-routing ones by position, then the routes' own."""
    listener: dict[tuple[int, str], ExternalAuth] = {}
    routes: dict[str, ExternalAuth] = {}
    for vh in vhosts:
        for i, auth in enumerate(vh.external_auth):
            listener.setdefault((i, filter_name(auth, i)), auth)
        # A C-level pass (this runs for every route on every change; most have none).
        for auth in set(map(_ROUTE_AUTH, vh.routes)):
            if auth is not None:
                routes.setdefault(filter_name(auth), auth)
    out = [(name, config(auth)) for (_, name), auth in sorted(listener.items())]
    out += [(name, config(auth)) for name, auth in sorted(routes.items())]
    return out


def config(auth: ExternalAuth) -> Any:
    c = ext_authz_pb2.ExtAuthz()
    c.transport_api_version = config_source_pb2.V3
    c.failure_mode_allow = False
    c.status_on_error.code = DENIED_ON_ERROR if auth.cluster is not None else UNRESOLVED  # type: ignore[assignment]
    c.clear_route_cache = auth.pre_routing
    rules = c.decoder_header_mutation_rules
    rules.disallow_system.value = True  # Host, :authority, :path...: ignored, not an error
    rules.disallow_expression.regex = _FRAMING  # names arrive lower-case
    for name in auth.allowed_headers:
        m = c.allowed_headers.patterns.add()
        m.exact = name
        m.ignore_case = True
    if auth.forward_body_bytes > 0:
        c.with_request_body.max_request_bytes = auth.forward_body_bytes
        c.with_request_body.allow_partial_message = True  # longer bodies: truncated
    timeout = divmod(auth.timeout_ms, 1000)
    if auth.protocol == "GRPC" and auth.cluster is not None:
        g = c.grpc_service
        g.envoy_grpc.cluster_name = auth.cluster
        g.envoy_grpc.authority = auth.authority
        g.timeout.seconds, g.timeout.nanos = timeout[0], timeout[1] * 1_000_000
        return c
    h = c.http_service
    # Unresolved (any protocol): an HTTP call to a cluster that never exists, so every
    # request fails closed with `status_on_error` (Envoy refuses an unknown gRPC cluster).
    h.server_uri.cluster = auth.cluster if auth.cluster is not None else INVALID_BACKEND_CLUSTER
    h.server_uri.uri = f"http://{auth.authority}"
    h.server_uri.timeout.seconds, h.server_uri.timeout.nanos = timeout[0], timeout[1] * 1_000_000
    h.path_prefix = auth.path_prefix
    upstream = h.authorization_response.allowed_upstream_headers
    if auth.allowed_response_headers:
        for name in auth.allowed_response_headers:
            m = upstream.patterns.add()
            m.exact = name
            m.ignore_case = True
    else:
        upstream.patterns.add().safe_regex.regex = ".+"  # all (the protected ones are refused)
    return c


def enabled() -> Any:
    """The per-route (or per-virtual-host) config that turns a disabled instance on."""
    per_route = ext_authz_pb2.ExtAuthzPerRoute()
    per_route.check_settings.SetInParent()
    fc = route_components_pb2.FilterConfig()
    fc.config.Pack(per_route)
    return fc
