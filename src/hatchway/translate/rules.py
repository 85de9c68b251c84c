"""HTTPRoute and GRPCRoute rules compiled into listener-independent pieces of IR (§4, §5).

A rule that cannot be implemented is dropped with a reason (route PartiallyInvalid, or not
Accepted when every rule is dropped). Backend problems never drop a rule: the invalid share of
traffic gets a 500 (route ResolvedRefs=False).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from hatchway.ir import (
    CORS,
    AppProtocol,
    DirectResponse,
    ExternalAuth,
    Forward,
    HeaderMatch,
    HeaderModifier,
    Match,
    Mirror,
    PathMatch,
    PathMatchType,
    PathModifier,
    PathModifierType,
    QueryMatch,
    Redirect,
    Retry,
    Route,
    SessionPersistence,
    URLRewrite,
    WeightedBackend,
)
from hatchway.ir.frozen import quick_init
from hatchway.model.durations import duration_millis
from hatchway.model.meta import BackendObjectReference, LocalObjectReference
from hatchway.model.routes import (
    GRPCBackendRef,
    GRPCHeaderMatch,
    GRPCRoute,
    GRPCRouteMatch,
    GRPCRouteRule,
    HTTPBackendRef,
    HTTPHeaderFilter,
    HTTPHeaderMatch,
    HTTPPathModifier,
    HTTPQueryParamMatch,
    HTTPRequestMirrorFilter,
    HTTPRequestRedirectFilter,
    HTTPRoute,
    HTTPRouteFilter,
    HTTPRouteMatch,
    HTTPRouteRule,
)
from hatchway.model.routes import SessionPersistence as ModelSessionPersistence
from hatchway.status import RouteConditionReason
from hatchway.translate import refusals
from hatchway.translate.backends import Backends, Problem
from hatchway.translate.extauth import external_auth
from hatchway.translate.precedence import (
    MatchKey,
    RouteOrderKey,
    grpc_match_key,
    http_match_key,
)
from hatchway.translate.sessions import session_persistence

R = RouteConditionReason
_R = TypeVar("_R", HTTPRoute, GRPCRoute)
_ONCE = ("CORS", "RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite")
_GRPC_SERVICE = re.compile(r"^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$", re.IGNORECASE)
_GRPC_METHOD = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")


class RuleInvalid(Exception):
    """A rule that cannot be implemented; `reason` is the route Accepted/PartiallyInvalid reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# (precedence, IR route)
IRRouteEntry = tuple[RouteOrderKey, Route]


@quick_init
@dataclass(frozen=True, slots=True)
class CompiledMatch:
    index: int
    match: Match
    key: MatchKey


@dataclass(eq=False)
class CompiledRule:
    """Everything about one rule except what depends on the listener (redirect port)."""

    index: int
    name: str | None
    matches: tuple[CompiledMatch, ...]
    backends: tuple[WeightedBackend, ...] = ()
    redirect: HTTPRequestRedirectFilter | None = None
    redirect_prefix: str | None = None
    direct: DirectResponse | None = None
    request_headers: HeaderModifier | None = None
    response_headers: HeaderModifier | None = None
    rewrite: URLRewrite | None = None
    mirrors: tuple[Mirror, ...] = ()
    cors: CORS | None = None
    request_timeout_ms: int | None = None
    backend_timeout_ms: int | None = None
    retry: Retry | None = None
    session: SessionPersistence | None = None
    external_auth: ExternalAuth | None = None
    grpc: bool = False
    # The IR routes built from this rule per (effective hostname, listener port), kept for as
    # long as the rule is (see `TranslateMemo`): the same rule yields the same IR routes.
    ir_routes: dict[tuple[str, int], tuple[IRRouteEntry, ...]] = field(
        default_factory=dict, repr=False
    )

    @property
    def forwards(self) -> bool:
        """Whether `action` is a Forward (to `backends`) whatever the listener."""
        return self.direct is None and self.redirect is None

    def action(self, listener_port: int) -> Forward | Redirect | DirectResponse:
        if self.direct is not None:
            return self.direct
        if self.redirect is not None:
            return _redirect(self.redirect, self.redirect_prefix, listener_port)
        return Forward(self.backends)


@dataclass(eq=False)
class CompiledRoute:
    rules: list[CompiledRule] = field(default_factory=list)
    dropped: list[tuple[int, str, str]] = field(default_factory=list)  # (rule, reason, message)
    unresolved: Problem | None = None  # first backend/mirror problem (route ResolvedRefs)


# --- Shared pieces ------------------------------------------------------------------------------


def _header_modifier(f: HTTPHeaderFilter | None) -> HeaderModifier | None:
    if f is None:
        return None
    return HeaderModifier(
        set=tuple((h.name, h.value) for h in f.set),
        add=tuple((h.name, h.value) for h in f.add),
        remove=tuple(f.remove),
    )


def _path_modifier(p: HTTPPathModifier | None, prefix: str | None) -> PathModifier | None:
    if p is None:
        return None
    if p.type == "ReplaceFullPath":
        return PathModifier(PathModifierType.FULL, p.replace_full_path or "/")
    return PathModifier(
        PathModifierType.PREFIX, p.replace_prefix_match or "", matched_prefix=prefix
    )


def _redirect(f: HTTPRequestRedirectFilter, prefix: str | None, listener_port: int) -> Redirect:
    # §4.7: an explicit port wins; a scheme alone implies its well-known port; neither keeps
    # the listener's port.
    if f.port is not None:
        port = f.port
    elif f.scheme is not None:
        port = 443 if f.scheme == "https" else 80
    else:
        port = listener_port
    return Redirect(
        status_code=f.status_code,
        scheme=f.scheme,
        hostname=f.hostname,
        port=port,
        path=_path_modifier(f.path, prefix),
    )


def _mirror(
    backends: Backends, kind: str, ns: str, f: HTTPRequestMirrorFilter, out: CompiledRoute
) -> Mirror | None:
    # A mirrored gRPC call must still be HTTP/2.
    forced = AppProtocol.H2C if kind == "GRPCRoute" else None
    cluster, problem = backends.resolve(kind, ns, f.backend_ref, forced)
    if problem is not None:
        out.unresolved = out.unresolved or problem
        return None
    assert cluster is not None
    if f.fraction is not None:
        return Mirror(cluster, f.fraction.numerator, f.fraction.denominator)
    if f.percent is not None:
        return Mirror(cluster, f.percent, 100)
    return Mirror(cluster)


def _session(sp: ModelSessionPersistence | None) -> SessionPersistence | None:
    return session_persistence(sp)


def _refuse(found: refusals.Refusal | None) -> None:
    if found is not None:
        raise RuleInvalid(R.UNSUPPORTED_VALUE, f"{found[0]}: {found[1]}")


def _headers(items: Sequence[HTTPHeaderMatch | GRPCHeaderMatch]) -> tuple[HeaderMatch, ...]:
    """Header matchers, names lower-cased; of equivalent names only the first counts (§4.4)."""
    out: dict[str, HeaderMatch] = {}
    for h in items:
        key = h.name.lower()
        if key not in out:
            regex = h.type == "RegularExpression"  # checked by `refusals`
            out[key] = HeaderMatch(key, h.value, regex)
    return tuple(out.values())


# --- HTTPRoute ----------------------------------------------------------------------------------


_PATH_TYPES = {"Exact": PathMatchType.EXACT, "RegularExpression": PathMatchType.REGEX}


def _http_match(m: HTTPRouteMatch) -> Match:
    # Called for every match of every route: empty headers/query skip their loops.
    path = m.path
    return Match(
        path=PathMatch(_PATH_TYPES.get(path.type, PathMatchType.PREFIX), path.value),
        method=m.method,
        headers=_headers(m.headers) if m.headers else (),
        query=_query(m.query_params) if m.query_params else (),
    )


def _query(params: Sequence[HTTPQueryParamMatch]) -> tuple[QueryMatch, ...]:
    """Query matchers; of equal names only the first counts (names are case-sensitive)."""
    out: dict[str, QueryMatch] = {}
    for q in params:
        if q.name not in out:
            out[q.name] = QueryMatch(q.name, q.value, q.type == "RegularExpression")
    return tuple(out.values())


def _check_filter_counts(types: Sequence[str], where: str) -> None:
    if len(types) < 2:
        return  # nothing to repeat (most rules have one filter or none)
    for t in _ONCE:
        if types.count(t) > 1:
            raise RuleInvalid(R.INCOMPATIBLE_FILTERS, f"{where}: {t} appears more than once")


def _replaced_prefix(rule: HTTPRouteRule, types: Sequence[str]) -> str | None:
    """The filters' combinations a rule may not have; and the PathPrefix a
    ReplacePrefixMatch replaces (None when no filter uses one)."""
    _check_filter_counts(types, "filters")
    if "RequestRedirect" in types and "URLRewrite" in types:
        raise RuleInvalid(R.INCOMPATIBLE_FILTERS, "RequestRedirect and URLRewrite are exclusive")
    if "RequestRedirect" in types and rule.backend_refs:
        raise RuleInvalid(R.INCOMPATIBLE_FILTERS, "RequestRedirect cannot have backendRefs")
    if types.count("ExternalAuth") > 1:
        raise RuleInvalid(
            R.UNSUPPORTED_VALUE, "more than one ExternalAuth filter in a rule is not supported"
        )
    uses_prefix = any(
        (
            f.request_redirect
            and f.request_redirect.path
            and f.request_redirect.path.type == "ReplacePrefixMatch"
        )
        or (
            f.url_rewrite and f.url_rewrite.path and f.url_rewrite.path.type == "ReplacePrefixMatch"
        )
        for f in rule.filters
    )
    if not uses_prefix:
        return None
    if len(rule.matches) != 1 or rule.matches[0].path.type != "PathPrefix":
        raise RuleInvalid(
            R.INCOMPATIBLE_FILTERS,
            "ReplacePrefixMatch needs exactly one match, of type PathPrefix",
        )
    return rule.matches[0].path.value


def _apply_filter(
    compiled: CompiledRule,
    f: HTTPRouteFilter,
    *,
    ns: str,
    prefix: str | None,
    backends: Backends,
    out: CompiledRoute,
) -> None:
    """One filter of an HTTPRoute rule, onto the compiled rule."""
    if f.type == "RequestHeaderModifier":
        compiled.request_headers = _header_modifier(f.request_header_modifier)
    elif f.type == "ResponseHeaderModifier":
        compiled.response_headers = _header_modifier(f.response_header_modifier)
    elif f.type == "RequestRedirect":
        compiled.redirect = f.request_redirect
        compiled.redirect_prefix = prefix
    elif f.type == "URLRewrite" and f.url_rewrite is not None:
        compiled.rewrite = URLRewrite(
            hostname=f.url_rewrite.hostname, path=_path_modifier(f.url_rewrite.path, prefix)
        )
    elif f.type == "RequestMirror" and f.request_mirror is not None:
        mirror = _mirror(backends, "HTTPRoute", ns, f.request_mirror, out)
        if mirror is not None:
            compiled.mirrors += (mirror,)
    elif f.type == "CORS" and f.cors is not None:
        c = f.cors
        compiled.cors = CORS(
            allow_origins=c.allow_origins,
            allow_credentials=bool(c.allow_credentials),
            allow_methods=tuple(c.allow_methods),
            allow_headers=c.allow_headers,
            expose_headers=c.expose_headers,
            max_age_s=c.max_age,
        )
    elif f.type == "ExternalAuth" and f.external_auth is not None:
        auth, problem = external_auth(backends, "HTTPRoute", ns, f.external_auth)
        compiled.external_auth = auth
        if problem is not None:
            # Never forward unchecked: without its service the rule answers 500.
            out.unresolved = out.unresolved or problem
            compiled.direct = DirectResponse(500)
    elif f.type == "ExtensionRef":
        _unknown_extension(compiled, f.extension_ref, out)


def _compile_http_rule(
    route: HTTPRoute, idx: int, rule: HTTPRouteRule, backends: Backends, out: CompiledRoute
) -> CompiledRule:
    ns = route.metadata.namespace
    _refuse(refusals.http_rule(f"spec.rules[{idx}]", rule))
    compiled_matches: list[CompiledMatch] = []
    for i, route_match in enumerate(rule.matches):
        m = _http_match(route_match)
        compiled_matches.append(CompiledMatch(i, m, http_match_key(m)))
    prefix = _replaced_prefix(rule, [f.type for f in rule.filters])
    compiled = CompiledRule(idx, rule.name, tuple(compiled_matches))
    for f in rule.filters:
        _apply_filter(compiled, f, ns=ns, prefix=prefix, backends=backends, out=out)
    single_prefix = len(rule.matches) == 1 and rule.matches[0].path.type == "PathPrefix"
    compiled.backends = _weighted_backends(
        "HTTPRoute",
        ns,
        rule.backend_refs,
        backends,
        out,
        prefix=rule.matches[0].path.value if single_prefix else None,
    )
    _with_backend_rewrites(compiled)
    if rule.timeouts is not None:
        t = rule.timeouts
        compiled.request_timeout_ms = duration_millis(t.request) if t.request else None
        compiled.backend_timeout_ms = (
            duration_millis(t.backend_request) if t.backend_request else None
        )
    if rule.retry is not None:
        r = rule.retry
        compiled.retry = Retry(
            codes=tuple(sorted(set(r.codes))),
            attempts=r.attempts,
            backoff_ms=duration_millis(r.backoff) if r.backoff else None,
        )
    compiled.session = _session(rule.session_persistence) or backends.session_of(compiled.backends)
    return compiled


def _unknown_extension(
    compiled: CompiledRule, ref: LocalObjectReference | None, out: CompiledRoute
) -> None:
    """An ExtensionRef filter: Hatchway knows no extension kind, so none resolves. The spec:
    such a filter "MUST NOT be skipped. Instead, requests that would have been processed by
    that filter MUST receive a HTTP error response", and GEP-1364 treats it as a reference
    failure: the route stays Accepted, ResolvedRefs=False/InvalidKind (a reference to an
    unsupported group/kind), and the rule answers 500 (gRPC: the 500 reads as UNKNOWN). The
    rule is not dropped: its requests would then fall through to another rule or a 404,
    which is skipping the filter."""
    compiled.direct = DirectResponse(500)
    what = f"{ref.group or 'core'}/{ref.kind} {ref.name}" if ref is not None else "(none)"
    out.unresolved = out.unresolved or (
        R.INVALID_KIND,
        f"rule {compiled.index}: ExtensionRef {what}: no extension filter kind is supported; "
        "the requests it matches get a 500",
    )


def _weighted_backends(
    kind: str,
    ns: str,
    refs: Sequence[HTTPBackendRef | GRPCBackendRef],
    backends: Backends,
    out: CompiledRoute,
    *,
    forced: AppProtocol | None = None,
    prefix: str | None = None,
) -> tuple[WeightedBackend, ...]:
    """A rule's backendRefs, resolved; an unresolvable one keeps its weight with no cluster
    (its share of traffic gets 500 / UNAVAILABLE) and makes the route's ResolvedRefs False.
    `prefix`: the rule's single PathPrefix match, what a backend's ReplacePrefixMatch replaces."""
    weighted: list[WeightedBackend] = []
    for ref in refs:
        if ref.filters:
            btypes = [f.type for f in ref.filters]
            _check_filter_counts(btypes, f"backendRef {ref.name} filters")
            unsupported = set(btypes) - _PER_BACKEND[kind]
            if unsupported:
                raise RuleInvalid(
                    R.UNSUPPORTED_VALUE,
                    f"backendRef {ref.name}: {sorted(unsupported)} not supported per backend",
                )
        cluster, problem = backends.resolve(kind, ns, ref, forced=forced)
        if problem is not None:
            out.unresolved = out.unresolved or problem
        weighted.append(
            WeightedBackend(
                cluster=cluster,
                weight=ref.weight,
                invalid_reason=problem[1] if problem else None,
                request_headers=_backend_filter(ref.filters, "RequestHeaderModifier")
                if ref.filters
                else None,
                response_headers=_backend_filter(ref.filters, "ResponseHeaderModifier")
                if ref.filters
                else None,
                rewrite=_backend_rewrite(ref.filters, prefix) if ref.filters else None,
            )
        )
    return tuple(weighted)


# Filters a backendRef may carry (URLRewrite: feature HTTPRouteBackendURLRewrite, v1.7).
_PER_BACKEND = {
    "HTTPRoute": {"RequestHeaderModifier", "ResponseHeaderModifier", "URLRewrite"},
    "GRPCRoute": {"RequestHeaderModifier", "ResponseHeaderModifier"},
}


def _backend_rewrite(filters: tuple[object, ...], prefix: str | None) -> URLRewrite | None:
    for f in filters:
        rewrite = getattr(f, "url_rewrite", None)
        if getattr(f, "type", None) == "URLRewrite" and rewrite is not None:
            return URLRewrite(rewrite.hostname, _path_modifier(rewrite.path, prefix))
    return None


def _with_backend_rewrites(compiled: CompiledRule) -> None:
    """A backend's URLRewrite path goes on the route when every backend that takes traffic
    asks for the same one (the data plane rewrites the path before it picks a backend;
    hostnames it rewrites per backend). Different paths per backend: the rule cannot be
    implemented, and says so."""
    if all(b.rewrite is None for b in compiled.backends):
        return  # most rules: no backend rewrites anything
    live = [b for b in compiled.backends if b.weight > 0 and b.cluster is not None]
    paths = {b.rewrite.path if b.rewrite is not None else None for b in live}
    if len(paths) > 1:
        raise RuleInvalid(
            R.UNSUPPORTED_VALUE,
            "backendRefs with different URLRewrite paths are not supported (Hatchway rewrites "
            "the path before choosing a backend): give them the same path rewrite",
        )
    path = next(iter(paths), None)
    if path is not None:
        hostname = compiled.rewrite.hostname if compiled.rewrite is not None else None
        compiled.rewrite = URLRewrite(hostname=hostname, path=path)


def _backend_filter(
    filters: tuple[object, ...], type_: Literal["RequestHeaderModifier", "ResponseHeaderModifier"]
) -> HeaderModifier | None:
    for f in filters:
        if getattr(f, "type", None) != type_:
            continue
        if type_ == "RequestHeaderModifier":
            return _header_modifier(getattr(f, "request_header_modifier", None))
        return _header_modifier(getattr(f, "response_header_modifier", None))
    return None


def _drop(
    out: CompiledRoute,
    idx: int,
    err: RuleInvalid,
    *,
    backends: Backends,
    kind: str,
    ns: str,
    refs: Sequence[BackendObjectReference],
) -> None:
    """Record a dropped rule; ResolvedRefs still covers its backendRefs."""
    out.dropped.append((idx, err.reason, err.message))
    forced = AppProtocol.H2C if kind == "GRPCRoute" else None
    for ref in refs:
        _, problem = backends.resolve(kind, ns, ref, forced)
        if problem is not None:
            out.unresolved = out.unresolved or problem


def _compile_rules(
    route: _R,
    backends: Backends,
    compile_rule: Callable[[_R, int, Any, Backends, CompiledRoute], CompiledRule],
) -> CompiledRoute:
    """Every rule of an HTTPRoute or GRPCRoute; one that cannot be implemented is dropped."""
    out = CompiledRoute()
    for idx, rule in enumerate(route.spec.rules):
        try:
            out.rules.append(compile_rule(route, idx, rule, backends, out))
        except RuleInvalid as err:
            _drop(
                out,
                idx,
                err,
                backends=backends,
                kind=route.kind,
                ns=route.metadata.namespace,
                refs=rule.backend_refs,
            )
    return out


def compile_http(route: HTTPRoute, backends: Backends) -> CompiledRoute:
    return _compile_rules(route, backends, _compile_http_rule)


# --- GRPCRoute ----------------------------------------------------------------------------------


def _grpc_match(m: GRPCRouteMatch) -> tuple[Match, MatchKey]:
    headers = _headers(m.headers)
    mm = m.method
    if mm is None or (mm.service is None and mm.method is None):
        path = PathMatch(PathMatchType.PREFIX, "/")
        return Match(path=path, headers=headers), grpc_match_key(None, None, len(headers))
    if mm.type == "RegularExpression":  # its regexes are checked by `refusals`
        path = PathMatch(PathMatchType.REGEX, refusals.grpc_method_regex(mm.service, mm.method))
    else:
        if mm.service is not None and not _GRPC_SERVICE.match(mm.service):
            raise RuleInvalid(R.UNSUPPORTED_VALUE, f"invalid gRPC service {mm.service!r}")
        if mm.method is not None and not _GRPC_METHOD.match(mm.method):
            raise RuleInvalid(R.UNSUPPORTED_VALUE, f"invalid gRPC method {mm.method!r}")
        if mm.service is not None and mm.method is not None:
            path = PathMatch(PathMatchType.EXACT, f"/{mm.service}/{mm.method}")
        elif mm.service is not None:
            path = PathMatch(PathMatchType.PREFIX, f"/{mm.service}")
        else:
            path = PathMatch(PathMatchType.REGEX, f"/[^/]+/{mm.method}")
    key = grpc_match_key(mm.service, mm.method, len(headers), regex=mm.type == "RegularExpression")
    return Match(path=path, headers=headers), key


def _compile_grpc_rule(
    route: GRPCRoute, idx: int, rule: GRPCRouteRule, backends: Backends, out: CompiledRoute
) -> CompiledRule:
    ns = route.metadata.namespace
    _refuse(refusals.grpc_rule(f"spec.rules[{idx}]", rule))
    raw = rule.matches or (GRPCRouteMatch(),)
    matches = tuple(CompiledMatch(i, *_grpc_match(m)) for i, m in enumerate(raw))
    types = [f.type for f in rule.filters]
    _check_filter_counts(types, "filters")
    compiled = CompiledRule(idx, rule.name, matches, grpc=True)
    for f in rule.filters:
        if f.type == "RequestHeaderModifier":
            compiled.request_headers = _header_modifier(f.request_header_modifier)
        elif f.type == "ResponseHeaderModifier":
            compiled.response_headers = _header_modifier(f.response_header_modifier)
        elif f.type == "RequestMirror" and f.request_mirror is not None:
            mirror = _mirror(backends, "GRPCRoute", ns, f.request_mirror, out)
            if mirror is not None:
                compiled.mirrors += (mirror,)
        elif f.type == "ExtensionRef":
            _unknown_extension(compiled, f.extension_ref, out)
    compiled.backends = _weighted_backends(
        "GRPCRoute", ns, rule.backend_refs, backends, out, forced=AppProtocol.H2C
    )
    compiled.session = _session(rule.session_persistence) or backends.session_of(compiled.backends)
    return compiled


def compile_grpc(route: GRPCRoute, backends: Backends) -> CompiledRoute:
    return _compile_rules(route, backends, _compile_grpc_rule)


__all__ = ["CompiledRoute", "CompiledRule", "compile_grpc", "compile_http"]
