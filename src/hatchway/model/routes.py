"""HTTPRoute, GRPCRoute, TLSRoute, TCPRoute and UDPRoute with their rules, matches and filters.

CRD defaults are the model defaults: an HTTPRoute without rules gets one rule matching
`PathPrefix /`; a match without `path` gets `PathPrefix /`; header/query/gRPC matches are `Exact`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from hatchway.model.base import (
    PATH_CHARS,
    Duration,
    HeaderName,
    HeaderValue,
    Hostname,
    Int32,
    Int64,
    Model,
    PortNumber,
    PreciseHostname,
    SectionName,
)
from hatchway.model.meta import (
    GATEWAY_GROUP,
    BackendObjectReference,
    BackendRef,
    LocalObjectReference,
    ObjectMeta,
    ParentReference,
)

HTTPMethod = Literal["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]
MatchType = Literal["Exact", "RegularExpression"]

Hostnames = Annotated[tuple[Hostname, ...], Field(max_length=16)]
ParentRefs = Annotated[tuple[ParentReference, ...], Field(max_length=32)]
RuleName = SectionName


# --- Matches ------------------------------------------------------------------------------------


class HTTPPathMatch(Model):
    type: Literal["Exact", "PathPrefix", "RegularExpression"] = "PathPrefix"
    value: Annotated[str, StringConstraints(max_length=1024)] = "/"


class HTTPHeaderMatch(Model):
    type: MatchType = "Exact"
    name: HeaderName
    value: HeaderValue


class HTTPQueryParamMatch(Model):
    type: MatchType = "Exact"
    name: HeaderName
    value: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class HTTPRouteMatch(Model):
    path: HTTPPathMatch = Field(default_factory=HTTPPathMatch)
    headers: Annotated[tuple[HTTPHeaderMatch, ...], Field(max_length=16)] = ()
    query_params: Annotated[tuple[HTTPQueryParamMatch, ...], Field(max_length=16)] = ()
    method: HTTPMethod | None = None


# --- Filters ------------------------------------------------------------------------------------


class HTTPHeader(Model):
    name: HeaderName
    value: HeaderValue


class HTTPHeaderFilter(Model):
    set: Annotated[tuple[HTTPHeader, ...], Field(max_length=16)] = ()
    add: Annotated[tuple[HTTPHeader, ...], Field(max_length=16)] = ()
    remove: Annotated[tuple[str, ...], Field(max_length=16)] = ()


class HTTPPathModifier(Model):
    type: Literal["ReplaceFullPath", "ReplacePrefixMatch"]
    replace_full_path: Annotated[str, StringConstraints(max_length=1024)] | None = None
    replace_prefix_match: Annotated[str, StringConstraints(max_length=1024)] | None = None


class HTTPRequestRedirectFilter(Model):
    scheme: Literal["http", "https"] | None = None
    hostname: PreciseHostname | None = None
    path: HTTPPathModifier | None = None
    port: PortNumber | None = None
    status_code: Literal[301, 302, 303, 307, 308] = 302


class HTTPURLRewriteFilter(Model):
    hostname: PreciseHostname | None = None
    path: HTTPPathModifier | None = None


class Fraction(Model):
    numerator: Annotated[Int32, Field(ge=0)]
    denominator: Annotated[Int32, Field(ge=1)] = 100


class HTTPRequestMirrorFilter(Model):
    backend_ref: BackendObjectReference
    percent: Annotated[Int32, Field(ge=0, le=100)] | None = None
    fraction: Fraction | None = None


CORSOrigin = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=253,
        pattern=(
            r"(^\*$)|(^(http(s)?):\/\/(((\*\.)?([a-zA-Z0-9\-]+\.)*[a-zA-Z0-9-]+|\*)"
            r"(:([0-9]{1,5}))?)$)"
        ),
    ),
]


class HTTPCORSFilter(Model):
    allow_origins: Annotated[tuple[CORSOrigin, ...], Field(max_length=64)] = ()
    allow_credentials: bool | None = None
    allow_methods: Annotated[tuple[HTTPMethod | Literal["*"], ...], Field(max_length=9)] = ()
    allow_headers: Annotated[tuple[HeaderName, ...], Field(max_length=64)] = ()
    expose_headers: Annotated[tuple[HeaderName, ...], Field(max_length=64)] = ()
    max_age: Annotated[Int32, Field(ge=1)] = 5


class GRPCAuthConfig(Model):
    allowed_headers: Annotated[tuple[str, ...], Field(max_length=64)] = ()


class HTTPAuthConfig(Model):
    path: Annotated[str, StringConstraints(max_length=1024, pattern=PATH_CHARS)] | None = None
    allowed_headers: Annotated[tuple[str, ...], Field(max_length=64)] = ()
    allowed_response_headers: Annotated[tuple[str, ...], Field(max_length=64)] = ()


class ForwardBodyConfig(Model):
    max_size: Annotated[Int32, Field(ge=0)] | None = None  # int32 since v1.7 (uint16 before)


class HTTPExternalAuthFilter(Model):
    protocol: Literal["HTTP", "GRPC"]
    backend_ref: BackendObjectReference
    grpc: GRPCAuthConfig | None = None
    http: HTTPAuthConfig | None = None
    forward_body: ForwardBodyConfig | None = None


HTTPFilterType = Literal[
    "RequestHeaderModifier",
    "ResponseHeaderModifier",
    "RequestMirror",
    "RequestRedirect",
    "URLRewrite",
    "ExtensionRef",
    "CORS",
    "ExternalAuth",
]


class HTTPRouteFilter(Model):
    """One filter; exactly the member named by `type` is set (checked in rules.py)."""

    type: HTTPFilterType
    request_header_modifier: HTTPHeaderFilter | None = None
    response_header_modifier: HTTPHeaderFilter | None = None
    request_mirror: HTTPRequestMirrorFilter | None = None
    request_redirect: HTTPRequestRedirectFilter | None = None
    url_rewrite: HTTPURLRewriteFilter | None = None
    extension_ref: LocalObjectReference | None = None
    cors: HTTPCORSFilter | None = None
    external_auth: HTTPExternalAuthFilter | None = None


Filters = Annotated[tuple[HTTPRouteFilter, ...], Field(max_length=16)]


# --- Rules --------------------------------------------------------------------------------------


class HTTPBackendRef(BackendRef):
    filters: Filters = ()


class HTTPRouteTimeouts(Model):
    request: Duration | None = None
    backend_request: Duration | None = None


class HTTPRouteRetry(Model):
    codes: tuple[Annotated[Int32, Field(ge=400, le=599)], ...] = ()
    # Retries after the first try. v1.7 defaults it to 1 and lets 0 turn retries off (v1.6
    # had no default and a minimum of 1: an absent value then meant "implementation default",
    # which was 1 here too).
    attempts: Annotated[Int64, Field(ge=0)] = 1
    backoff: Duration | None = None


class SessionCookie(Model):
    """`sessionPersistence.cookie` (v1.7)."""

    lifetime_type: Literal["Permanent", "Session"] = "Session"
    name: HeaderName | None = None
    path: Annotated[str, StringConstraints(max_length=1024)] = "/"


class SessionHeader(Model):
    """`sessionPersistence.header` (v1.7)."""

    name: HeaderName


class LegacyCookieConfig(Model):
    """`sessionPersistence.cookieConfig` of Gateway API v1.6 (renamed `cookie` in v1.7)."""

    lifetime_type: Literal["Permanent", "Session"] = "Session"


class SessionPersistence(Model):
    """Session persistence of a route rule or an XBackend.

    v1.7 spells the session's name `cookie.name` / `header.name`. A cluster may still run the
    v1.6 CRDs, whose objects say `sessionName` and `cookieConfig`: those are read too (not
    both spellings at once, see rules.py), so v1.6 inputs keep working.
    """

    absolute_timeout: Duration | None = None
    type: Literal["Cookie", "Header"] = "Cookie"
    cookie: SessionCookie | None = None
    header: SessionHeader | None = None
    session_name: Annotated[str, StringConstraints(max_length=128)] | None = None  # v1.6
    cookie_config: LegacyCookieConfig | None = None  # v1.6

    @property
    def legacy(self) -> bool:
        """Written in the v1.6 shape (neither `cookie` nor `header`)."""
        return self.cookie is None and self.header is None

    @property
    def name(self) -> str | None:
        """The cookie or header name, whichever spelling states it (None: our default)."""
        if self.cookie is not None:
            return self.cookie.name
        if self.header is not None:
            return self.header.name
        return self.session_name

    @property
    def permanent(self) -> bool:
        lifetime = self.cookie or self.cookie_config
        return lifetime is not None and lifetime.lifetime_type == "Permanent"


def _default_matches() -> tuple[HTTPRouteMatch, ...]:
    return (HTTPRouteMatch(),)


class HTTPRouteRule(Model):
    name: RuleName | None = None
    matches: Annotated[tuple[HTTPRouteMatch, ...], Field(max_length=64)] = Field(
        default_factory=_default_matches
    )
    filters: Filters = ()
    backend_refs: Annotated[tuple[HTTPBackendRef, ...], Field(max_length=16)] = ()
    timeouts: HTTPRouteTimeouts | None = None
    retry: HTTPRouteRetry | None = None
    session_persistence: SessionPersistence | None = None


def _default_rules() -> tuple[HTTPRouteRule, ...]:
    return (HTTPRouteRule(),)


class HTTPRouteSpec(Model):
    parent_refs: ParentRefs = ()
    hostnames: Hostnames = ()
    rules: Annotated[tuple[HTTPRouteRule, ...], Field(min_length=1, max_length=16)] = Field(
        default_factory=_default_rules
    )
    use_default_gateways: Literal["All", "None"] | None = None


class HTTPRoute(Model):
    api_version: str = f"{GATEWAY_GROUP}/v1"
    kind: Literal["HTTPRoute"] = "HTTPRoute"
    metadata: ObjectMeta
    spec: HTTPRouteSpec = Field(default_factory=HTTPRouteSpec)


# --- GRPCRoute ----------------------------------------------------------------------------------


class GRPCMethodMatch(Model):
    type: MatchType = "Exact"
    service: Annotated[str, StringConstraints(max_length=1024)] | None = None
    method: Annotated[str, StringConstraints(max_length=1024)] | None = None


class GRPCHeaderMatch(Model):
    type: MatchType = "Exact"
    name: HeaderName
    value: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class GRPCRouteMatch(Model):
    method: GRPCMethodMatch | None = None
    headers: Annotated[tuple[GRPCHeaderMatch, ...], Field(max_length=16)] = ()


class GRPCRouteFilter(Model):
    type: Literal[
        "ResponseHeaderModifier", "RequestHeaderModifier", "RequestMirror", "ExtensionRef"
    ]
    request_header_modifier: HTTPHeaderFilter | None = None
    response_header_modifier: HTTPHeaderFilter | None = None
    request_mirror: HTTPRequestMirrorFilter | None = None
    extension_ref: LocalObjectReference | None = None


GRPCFilters = Annotated[tuple[GRPCRouteFilter, ...], Field(max_length=16)]


class GRPCBackendRef(BackendRef):
    filters: GRPCFilters = ()


class GRPCRouteRule(Model):
    name: RuleName | None = None
    matches: Annotated[tuple[GRPCRouteMatch, ...], Field(max_length=64)] = ()
    filters: GRPCFilters = ()
    backend_refs: Annotated[tuple[GRPCBackendRef, ...], Field(max_length=16)] = ()
    session_persistence: SessionPersistence | None = None


class GRPCRouteSpec(Model):
    parent_refs: ParentRefs = ()
    hostnames: Hostnames = ()
    rules: Annotated[tuple[GRPCRouteRule, ...], Field(max_length=16)] = ()
    use_default_gateways: Literal["All", "None"] | None = None


class GRPCRoute(Model):
    api_version: str = f"{GATEWAY_GROUP}/v1"
    kind: Literal["GRPCRoute"] = "GRPCRoute"
    metadata: ObjectMeta
    spec: GRPCRouteSpec = Field(default_factory=GRPCRouteSpec)


# --- TLSRoute, TCPRoute, UDPRoute ---------------------------------------------------------------


class L4RouteRule(Model):
    """The single rule of a TLSRoute, TCPRoute or UDPRoute."""

    name: RuleName | None = None
    backend_refs: Annotated[tuple[BackendRef, ...], Field(min_length=1, max_length=16)]


# v1 allows exactly one rule, v1alpha2 up to 16: rules.py checks the version-specific limit.
L4Rules = Annotated[tuple[L4RouteRule, ...], Field(min_length=1, max_length=16)]


class TLSRouteSpec(Model):
    parent_refs: ParentRefs = ()
    # Required (1..1024) in v1, optional in v1alpha2: rules.py checks per version.
    hostnames: Annotated[tuple[Hostname, ...], Field(max_length=1024)] = ()
    rules: L4Rules
    use_default_gateways: Literal["All", "None"] | None = None


class TLSRoute(Model):
    api_version: str = f"{GATEWAY_GROUP}/v1"
    kind: Literal["TLSRoute"] = "TLSRoute"
    metadata: ObjectMeta
    spec: TLSRouteSpec


class TCPRouteSpec(Model):
    parent_refs: ParentRefs = ()
    rules: L4Rules
    use_default_gateways: Literal["All", "None"] | None = None


class TCPRoute(Model):
    api_version: str = f"{GATEWAY_GROUP}/v1"
    kind: Literal["TCPRoute"] = "TCPRoute"
    metadata: ObjectMeta
    spec: TCPRouteSpec


class UDPRouteSpec(Model):
    parent_refs: ParentRefs = ()
    rules: L4Rules
    use_default_gateways: Literal["All", "None"] | None = None


class UDPRoute(Model):
    api_version: str = f"{GATEWAY_GROUP}/v1"
    kind: Literal["UDPRoute"] = "UDPRoute"
    metadata: ObjectMeta
    spec: UDPRouteSpec
