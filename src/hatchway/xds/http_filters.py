"""The HTTP filter chain of every HttpConnectionManager, in ONE explicit table, and the
per-route configs those filters read (CORS policy, session persistence)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from envoy.config.route.v3 import route_components_pb2
from envoy.extensions.filters.http.cors.v3 import cors_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2
from envoy.extensions.filters.http.stateful_session.v3 import stateful_session_pb2
from envoy.extensions.http.stateful_session.cookie.v3 import cookie_pb2
from envoy.extensions.http.stateful_session.header.v3 import header_pb2

from hatchway.ir import CORS, PathMatchType, Route, SessionPersistence
from hatchway.xds import ext_authz
from hatchway.xds.settings import XdsSettings

CORS_FILTER = "envoy.filters.http.cors"
SESSION_FILTER = "envoy.filters.http.stateful_session"
ROUTER_FILTER = "envoy.filters.http.router"

# (name, config type, disabled by default). Order matters. Every listener gets the same
# chain whether or not a route uses a filter, so adding the first CORS route changes only the
# RouteConfiguration, never the Listener (a listener change drains connections). A filter
# that only acts with per-route config is *disabled* here and enabled by the routes that
# configure it (`FilterConfig`): Envoy then does not even create it for other requests
# (measured: the two no-op filters cost ~10-20 % CPU per request on a 1-route proxy).
HTTP_FILTERS: tuple[tuple[str, Any, bool], ...] = (
    # 1. CORS first: preflights are answered here, before anything can forward them, and the
    #    response headers are added to every reply, including local ones.
    (CORS_FILTER, cors_pb2.Cors, True),
    # 2. Session persistence picks the upstream host from the cookie/header; it must run
    #    before the router and only sets an override host (empty config = disabled).
    (SESSION_FILTER, stateful_session_pb2.StatefulSession, True),
    # 3. The router forwards; always last.
    (ROUTER_FILTER, router_pb2.Router, False),
)


def fill_http_filters(filters: Any, auth: Sequence[tuple[str, Any]] = ()) -> None:
    """The table above; `auth`: the ext_authz instances (name, config) the chain's routes
    and listeners use, disabled here, run right after CORS (see `xds.ext_authz`)."""
    for name, cls, disabled in HTTP_FILTERS:
        f = filters.add()
        f.name = name
        f.typed_config.Pack(cls())
        f.disabled = disabled
        if name == CORS_FILTER:
            for auth_name, auth_config in auth:
                a = filters.add()
                a.name = auth_name
                a.typed_config.Pack(auth_config)
                a.disabled = True


def fill_per_route_filters(per_filter: Any, route: Route, settings: XdsSettings) -> None:
    """`typed_per_filter_config` of a route (a protobuf map of name -> Any); each config is
    wrapped in a `FilterConfig`, which enables its disabled-by-default filter for the route."""
    if route.cors is not None:
        per_filter[CORS_FILTER].Pack(_enabled(cors_policy(route.cors)))
    if route.session_persistence is not None:
        per_filter[SESSION_FILTER].Pack(_enabled(session_per_route(route, settings)))
    if route.external_auth is not None:
        per_filter[ext_authz.filter_name(route.external_auth)].Pack(ext_authz.enabled())


def _enabled(config: Any) -> Any:
    fc = route_components_pb2.FilterConfig()
    fc.config.Pack(config)
    return fc


def cors_policy(cors: CORS) -> Any:
    """A CorsPolicy answering preflights at the gateway, matching origins with wildcards.

    Envoy echoes the request's Origin in Access-Control-Allow-Origin when it matches, which is
    what credentialed requests need. `forward_not_matching_preflights: false` makes the gateway
    answer preflights from disallowed origins too (without CORS headers), as conformance asks.
    """
    p = cors_pb2.CorsPolicy()
    for origin in cors.allow_origins:
        m = p.allow_origin_string_match.add()
        if origin == "*":
            m.safe_regex.regex = ".*"
        elif "*" in origin:
            m.safe_regex.regex = origin_regex(origin)
        else:
            m.exact = _without_default_port(origin)
            m.ignore_case = True  # scheme and host are case-insensitive
    if cors.allow_methods:
        p.allow_methods = ", ".join(cors.allow_methods)
    if cors.allow_headers:
        p.allow_headers = ", ".join(cors.allow_headers)
    if cors.expose_headers:
        p.expose_headers = ", ".join(cors.expose_headers)
    p.max_age = str(cors.max_age_s)
    if cors.allow_credentials:
        p.allow_credentials.value = True
    p.forward_not_matching_preflights.value = False
    return p


def origin_regex(origin: str) -> str:
    """`https://*.bar.com` -> RE2 matching `https://a.bar.com`, `https://x.y.bar.com`.

    `*` stands for one or more DNS labels (greedy to the left; only label characters, so no
    `/`, `:`, `?` or `@` can smuggle another host in), the rest is literal; the scheme's
    default port is optional in the request's Origin.
    """
    origin = _without_default_port(origin)
    literal = re.escape(origin).replace(r"\*", _LABELS)
    return f"(?i)^{literal}{_optional_default_port(origin)}$"


_LABELS = r"[a-z0-9-]+(?:\.[a-z0-9-]+)*"


def _optional_default_port(origin: str) -> str:
    """`(:443)?` for an https origin without a port (likewise http/80), else nothing."""
    scheme, _, rest = origin.partition("://")
    if ":" in rest:
        return ""
    port = {"http": "80", "https": "443"}.get(scheme.lower())
    return f"(?::{port})?" if port else ""


def _without_default_port(origin: str) -> str:
    for scheme, port in (("http://", ":80"), ("https://", ":443")):
        if origin.lower().startswith(scheme) and origin.endswith(port):
            return origin[: -len(port)]
    return origin


def session_per_route(route: Route, settings: XdsSettings) -> Any:
    sp: SessionPersistence = route.session_persistence  # type: ignore[assignment]
    per_route = stateful_session_pb2.StatefulSessionPerRoute()
    state = per_route.stateful_session.session_state
    if sp.type == "Header":
        state.name = "envoy.http.stateful_session.header"
        h = header_pb2.HeaderBasedSessionState()
        h.name = (sp.name or settings.default_session_header).lower()
        state.typed_config.Pack(h)
    else:
        state.name = "envoy.http.stateful_session.cookie"
        c = cookie_pb2.CookieBasedSessionState()
        c.cookie.name = sp.name or settings.default_session_cookie
        c.cookie.path = sp.cookie_path if sp.cookie_path is not None else _cookie_path(route)
        if sp.permanent and sp.absolute_timeout_ms:
            seconds, ms = divmod(sp.absolute_timeout_ms, 1000)
            c.cookie.ttl.seconds = seconds
            c.cookie.ttl.nanos = ms * 1_000_000
        # No ttl: a session cookie (GEP-1619 lifetimeType Session).
        state.typed_config.Pack(c)
    return per_route


def _cookie_path(route: Route) -> str:
    """Gateway API v1.6 (input without `cookie.path`): the cookie is sent back only for paths
    this route serves. v1.7 states the path (default `/`)."""
    path = route.match.path
    if path.type is PathMatchType.REGEX:
        return "/"
    value = path.value.rstrip("/") or "/" if path.type is PathMatchType.PREFIX else path.value
    return cookie_path_attribute(value)


# RFC 6265 path-value: any CHAR except CTLs or ";". A `;` would end the attribute and start
# another (`/c;Max-Age=999999999` on an Exact match would set the cookie's lifetime).
_NOT_PATH_VALUE = re.compile(r"[^\x20-\x3a\x3c-\x7e]")


def cookie_path_attribute(path: str) -> str:
    """`path` as a cookie's Path attribute. A path with characters the attribute cannot hold
    is cut to its directory before the first of them (`/a/b;c` -> `/a/`): the cookie still
    comes back for the route's requests (RFC 6265 path-match), and for no path outside it."""
    bad = _NOT_PATH_VALUE.search(path)
    if bad is None:
        return path
    return path[: path.rfind("/", 0, bad.start()) + 1] or "/"
