"""HTTP/gRPC routing in the IR: virtual hosts, routes (one per rule match), actions and filters."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hatchway.ir.frozen import quick_init
from hatchway.ir.origin import Origin


class PathMatchType(StrEnum):
    EXACT = "Exact"
    # element-wise: `/foo` matches `/foo`, `/foo/`, `/foo/bar`, never `/foobar`
    PREFIX = "PathPrefix"
    REGEX = "RegularExpression"  # RE2, validated by the core


@quick_init
@dataclass(frozen=True, slots=True)
class PathMatch:
    type: PathMatchType
    value: str


@quick_init
@dataclass(frozen=True, slots=True)
class HeaderMatch:
    name: str  # lower-cased; header names are case-insensitive
    value: str
    regex: bool = False


@quick_init
@dataclass(frozen=True, slots=True)
class QueryMatch:
    name: str  # case-sensitive
    value: str
    regex: bool = False


@quick_init
@dataclass(frozen=True, slots=True)
class Match:
    """All conditions are ANDed. For gRPC the core turns service/method into `path`."""

    path: PathMatch
    method: str | None = None
    headers: tuple[HeaderMatch, ...] = ()
    query: tuple[QueryMatch, ...] = ()


@quick_init
@dataclass(frozen=True, slots=True)
class HeaderModifier:
    set: tuple[tuple[str, str], ...] = ()
    add: tuple[tuple[str, str], ...] = ()
    remove: tuple[str, ...] = ()


@quick_init
@dataclass(frozen=True, slots=True)
class WeightedBackend:
    """One backendRef after resolution.

    `cluster` is None when the reference is invalid: that share of traffic gets 500
    (UNAVAILABLE for gRPC, a closed connection for L4). `invalid_reason` says why.
    """

    cluster: str | None
    weight: int
    invalid_reason: str | None = None
    request_headers: HeaderModifier | None = None  # backend-level filters
    response_headers: HeaderModifier | None = None
    # Backend-level URLRewrite: its hostname is applied per backend; its path the core has
    # put on the route (every live backend of a rule rewrites the path the same way).
    rewrite: URLRewrite | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class Mirror:
    cluster: str
    numerator: int = 100  # fraction of requests mirrored = numerator / denominator
    denominator: int = 100


class PathModifierType(StrEnum):
    FULL = "ReplaceFullPath"
    PREFIX = "ReplacePrefixMatch"


@quick_init
@dataclass(frozen=True, slots=True)
class PathModifier:
    type: PathModifierType
    value: str
    # For PREFIX: the PathPrefix value of the (single) match being replaced.
    matched_prefix: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class URLRewrite:
    hostname: str | None = None
    path: PathModifier | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class Redirect:
    """RequestRedirect with defaults resolved by the core.

    `port` is the port to put in Location, already defaulted per the spec (scheme set and
    no port -> the scheme's well-known port; neither set -> the listener's port). The Envoy
    step omits it when it is the scheme's default (80/http, 443/https).
    `scheme` None keeps the request's scheme.
    """

    status_code: int
    scheme: str | None = None
    hostname: str | None = None
    port: int | None = None
    path: PathModifier | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class DirectResponse:
    status: int
    body: str = ""


@quick_init
@dataclass(frozen=True, slots=True)
class Forward:
    """Send to weighted backends. All-invalid (or empty) backends is a 500, decided by the core."""

    backends: tuple[WeightedBackend, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class CORS:
    allow_origins: tuple[str, ...] = ()  # "*" alone, or scheme://host[:port] with a leading `*.`
    allow_credentials: bool = False
    allow_methods: tuple[str, ...] = ()  # or ("*",)
    allow_headers: tuple[str, ...] = ()  # or ("*",)
    expose_headers: tuple[str, ...] = ()
    max_age_s: int = 5


@quick_init
@dataclass(frozen=True, slots=True)
class Retry:
    """GEP-1731: retry a request the backend did not process — the connection failed, the
    backend refused the stream, or it answered one of `codes` — up to `attempts` times."""

    codes: tuple[int, ...] = ()
    attempts: int = 1  # retries after the first try; 0 turns retries off
    backoff_ms: int | None = None  # base interval; None: the data plane's default


@quick_init
@dataclass(frozen=True, slots=True)
class SessionPersistence:
    type: str = "Cookie"  # Cookie | Header
    name: str | None = None  # None: the data plane's default name
    absolute_timeout_ms: int | None = None
    idle_timeout_ms: int | None = None
    permanent: bool = False  # cookie lifetimeType Permanent
    # The cookie's Path (v1.7 `cookie.path`, default "/"); None: the Gateway API v1.6 rule,
    # the path the route matches.
    cookie_path: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class ExternalAuth:
    """Ask an authorization service about each request before it goes on (GEP-1494; on a
    listener, before routing: GEP-5224). Fail closed: an unreachable service denies.

    `cluster` None: the service could not be resolved; every request it would check is
    answered 500 (never let through unchecked).
    """

    protocol: str  # "HTTP" (any non-200 answer denies) | "GRPC" (Envoy ext_authz protocol)
    cluster: str | None
    authority: str = ""  # the service's name, for the Host/:authority of its requests
    path_prefix: str = ""  # HTTP: put before the request path
    # Request headers sent to the service. HTTP: Host, Method, Path, Content-Length and
    # Authorization always, plus these; gRPC: these only, or all when empty.
    allowed_headers: tuple[str, ...] = ()
    # HTTP: headers of an allowing answer copied onto the request (empty: all of them).
    allowed_response_headers: tuple[str, ...] = ()
    forward_body_bytes: int = 0  # body bytes sent along (0: none; longer bodies truncated)
    timeout_ms: int = 10_000
    # Before routing: the route is chosen again after the service's header changes.
    pre_routing: bool = False


@quick_init
@dataclass(frozen=True, slots=True)
class Route:
    """One rule match, placed in precedence order within its virtual host."""

    name: str  # stable: derived from the origin (route, rule, match), never a list index alone
    origin: Origin
    match: Match
    action: Forward | Redirect | DirectResponse
    grpc: bool = False  # from a GRPCRoute: unmatched/invalid map to gRPC statuses
    request_headers: HeaderModifier | None = None
    response_headers: HeaderModifier | None = None
    rewrite: URLRewrite | None = None
    mirrors: tuple[Mirror, ...] = ()
    cors: CORS | None = None
    request_timeout_ms: int | None = None  # None = default; 0 = disabled
    backend_timeout_ms: int | None = None
    retry: Retry | None = None
    session_persistence: SessionPersistence | None = None
    external_auth: ExternalAuth | None = None  # the rule's ExternalAuth filter
    # The route hostname (after intersection with the listener) that made it apply here;
    # it ranks routes within a virtual host and lets `explain` say why.
    hostname: str = "*"


@quick_init
@dataclass(frozen=True, slots=True)
class VirtualHost:
    """Requests whose Host (port ignored) best matches `domain` are served by `routes`, in order.

    `domain` is an exact host, a `*.suffix` wildcard, or `*`. Each domain belongs to the most
    specific Gateway listener that matches it (`listener`), which gives listener isolation.
    No route matches -> 404 (gRPC: Unimplemented).
    """

    name: str
    domain: str
    listener: Origin
    routes: tuple[Route, ...]
    # The owning listener's pre-routing filters (GEP-5224), run in this order on every
    # request for the domain, whatever route (if any) it then matches.
    external_auth: tuple[ExternalAuth, ...] = ()
