"""Cross-field checks of routes (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute): what
their CRDs express in CEL and list keys (see `model.rules` for the conventions)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Protocol

from hatchway.model.checks import (
    GRPC_METHOD,
    GRPC_SERVICE,
    MAX_MATCHES_PER_ROUTE,
    PATH_CHARS,
    PRECISE_HOSTNAME,
    Found,
    Violation,
    api_version_of,
    duplicates,
)
from hatchway.model.durations import duration_millis
from hatchway.model.meta import BackendObjectReference, ParentReference
from hatchway.model.routes import (
    GRPCRoute,
    GRPCRouteFilter,
    HTTPCORSFilter,
    HTTPExternalAuthFilter,
    HTTPHeaderFilter,
    HTTPPathModifier,
    HTTPRequestMirrorFilter,
    HTTPRoute,
    HTTPRouteFilter,
    HTTPRouteMatch,
    HTTPRouteRule,
    SessionPersistence,
    TCPRoute,
    TLSRoute,
    UDPRoute,
)
from hatchway.model.xbackend import XBACKEND_GROUP, XBACKEND_KIND

# --- shared route pieces ------------------------------------------------------------------------


def _parent_refs(path: str, refs: Sequence[ParentReference]) -> Found:
    def parent(ref: ParentReference) -> tuple[str, str, str, str]:
        return (ref.group, ref.kind, ref.namespace or "", ref.name)

    for i, a in enumerate(refs):
        for b in refs[:i]:
            if parent(a) != parent(b):
                continue
            if (a.section_name is None) != (b.section_name is None) or (a.port is None) != (
                b.port is None
            ):
                yield Violation(
                    f"{path}[{i}]",
                    "sectionName or port must be specified when parentRefs includes 2 or more "
                    "references to the same parent",
                )
                break
            if a.section_name == b.section_name and a.port == b.port:
                yield Violation(
                    f"{path}[{i}]",
                    "sectionName or port must be unique when parentRefs includes 2 or more "
                    "references to the same parent",
                )
                break


def _backend_port(path: str, ref: BackendObjectReference) -> Found:
    if ref.group == "" and ref.kind == "Service" and ref.port is None:
        yield Violation(f"{path}.port", "Must have port for Service reference")
    if (ref.group, ref.kind) == (XBACKEND_GROUP, XBACKEND_KIND) and ref.port is not None:
        yield Violation(f"{path}.port", "Must not have port for Backend reference")


def _rule_names(path: str, names: Sequence[str | None]) -> Found:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name is None:
            continue
        if name in seen:
            yield Violation(f"{path}[{i}].name", "Rule name must be unique within the route")
        seen.add(name)


def _total_matches(path: str, counts: Iterable[int]) -> Found:
    if sum(counts) > MAX_MATCHES_PER_ROUTE:
        yield Violation(
            path,
            "While 16 rules and 64 matches per rule are allowed, the total number of matches "
            f"across all rules in a route must be less than {MAX_MATCHES_PER_ROUTE}",
        )


def _header_filter(path: str, f: HTTPHeaderFilter) -> Found:
    yield from duplicates(f"{path}.set", [h.name for h in f.set])
    yield from duplicates(f"{path}.add", [h.name for h in f.add])
    yield from duplicates(f"{path}.remove", list(f.remove))


def _mirror(path: str, m: HTTPRequestMirrorFilter) -> Found:
    yield from _backend_port(f"{path}.backendRef", m.backend_ref)
    if m.percent is not None and m.fraction is not None:
        yield Violation(
            path, "Only one of percent or fraction may be specified in HTTPRequestMirrorFilter"
        )
    if m.fraction is not None and m.fraction.numerator > m.fraction.denominator:
        yield Violation(f"{path}.fraction", "numerator must be less than or equal to denominator")


def session_persistence(path: str, sp: SessionPersistence) -> Found:
    if sp.permanent and sp.absolute_timeout is None:
        yield Violation(
            path, "AbsoluteTimeout must be specified when cookie lifetimeType is Permanent"
        )
    if sp.legacy:  # the Gateway API v1.6 spelling: its own rules
        if sp.cookie_config is not None and sp.type != "Cookie":
            yield Violation(path, "cookieConfig can only be set with type Cookie")
        return
    if sp.session_name is not None or sp.cookie_config is not None:
        yield Violation(
            path,
            "sessionName and cookieConfig (Gateway API v1.6) cannot be combined with cookie "
            "and header (v1.7): use cookie.name or header.name",
        )
    for member, type_ in (("cookie", "Cookie"), ("header", "Header")):
        present = getattr(sp, member) is not None
        if present and sp.type != type_:
            yield Violation(path, f"{member} must be nil if type is not {type_}")
        if not present and sp.type == type_:
            yield Violation(path, f"{member} must be specified for {type_} type")


# The filter member each `type` names (YAML spelling, attribute name).
LISTENER_MEMBERS = {
    "ExternalAuth": ("externalAuth", "external_auth"),
    "ExtensionRef": ("extensionRef", "extension_ref"),
}
_HTTP_MEMBERS = {
    "CORS": ("cors", "cors"),
    "RequestHeaderModifier": ("requestHeaderModifier", "request_header_modifier"),
    "ResponseHeaderModifier": ("responseHeaderModifier", "response_header_modifier"),
    "RequestMirror": ("requestMirror", "request_mirror"),
    "RequestRedirect": ("requestRedirect", "request_redirect"),
    "URLRewrite": ("urlRewrite", "url_rewrite"),
    "ExtensionRef": ("extensionRef", "extension_ref"),
    "ExternalAuth": ("externalAuth", "external_auth"),
}
_GRPC_MEMBERS = {
    k: _HTTP_MEMBERS[k]
    for k in ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "ExtensionRef")
}
_HTTP_ONCE = (
    "CORS",
    "RequestHeaderModifier",
    "ResponseHeaderModifier",
    "RequestRedirect",
    "URLRewrite",
)
_GRPC_ONCE = ("RequestHeaderModifier", "ResponseHeaderModifier")


class TypedFilter(Protocol):
    """A filter whose `type` names the one member that must be set (route and listener
    filters alike)."""

    @property
    def type(self) -> str: ...


def filter_members(path: str, f: TypedFilter, members: dict[str, tuple[str, str]]) -> Found:
    """The member `type` names is set, and no other is."""
    for ftype, (spelled, attr) in members.items():
        present = getattr(f, attr) is not None
        if present and f.type != ftype:
            yield Violation(
                f"{path}.{spelled}",
                f"filter.{spelled} must be nil if the filter.type is not {ftype}",
            )
        if not present and f.type == ftype:
            yield Violation(
                f"{path}.{spelled}", f"filter.{spelled} must be specified for {ftype} filter.type"
            )


def _filter_list(path: str, types: Sequence[str], once: Sequence[str]) -> Found:
    if "RequestRedirect" in types and "URLRewrite" in types:
        yield Violation(
            path,
            "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, "
            "but not both",
        )
    for ftype in once:
        positions = [i for i, t in enumerate(types) if t == ftype]
        if len(positions) > 1:
            yield Violation(f"{path}[{positions[1]}]", f"{ftype} filter cannot be repeated")


def _path_modifier(path: str, p: HTTPPathModifier) -> Found:
    for ftype, spelled, value in (
        ("ReplaceFullPath", "replaceFullPath", p.replace_full_path),
        ("ReplacePrefixMatch", "replacePrefixMatch", p.replace_prefix_match),
    ):
        if p.type == ftype and value is None:
            yield Violation(path, f"{spelled} must be specified when type is set to '{ftype}'")
        if value is not None and p.type != ftype:
            yield Violation(path, f"type must be '{ftype}' when {spelled} is set")


def _cors(path: str, cors: HTTPCORSFilter) -> Found:
    for spelled, values, noun in (
        ("allowOrigins", cors.allow_origins, "origins"),
        ("allowMethods", cors.allow_methods, "methods"),
        ("allowHeaders", cors.allow_headers, "methods"),  # sic: the CRD's own wording
    ):
        yield from duplicates(f"{path}.{spelled}", list(values))
        if "*" in values and len(values) > 1:
            what = spelled[0].upper() + spelled[1:]
            yield Violation(
                f"{path}.{spelled}", f"{what} cannot contain '*' alongside other {noun}"
            )
    yield from duplicates(f"{path}.exposeHeaders", list(cors.expose_headers))


def external_auth(path: str, ea: HTTPExternalAuthFilter) -> Found:
    yield from _backend_port(f"{path}.backendRef", ea.backend_ref)
    for proto, spelled, present in (("GRPC", "grpc", ea.grpc), ("HTTP", "http", ea.http)):
        if ea.protocol == proto and present is None:
            yield Violation(path, f"{spelled} must be specified when protocol is set to '{proto}'")
        if present is not None and ea.protocol != proto:
            yield Violation(path, f"protocol must be '{proto}' when {spelled} is set")
    if ea.grpc is not None:
        yield from duplicates(f"{path}.grpc.allowedHeaders", list(ea.grpc.allowed_headers))
    if ea.http is not None:
        yield from duplicates(f"{path}.http.allowedHeaders", list(ea.http.allowed_headers))
        yield from duplicates(
            f"{path}.http.allowedResponseHeaders", list(ea.http.allowed_response_headers)
        )


def _http_filters(path: str, filters: Sequence[HTTPRouteFilter]) -> Found:
    yield from _filter_list(path, [f.type for f in filters], _HTTP_ONCE)
    for i, f in enumerate(filters):
        at = f"{path}[{i}]"
        yield from filter_members(at, f, _HTTP_MEMBERS)
        yield from _shared_filter(at, f)
        if f.request_redirect is not None and f.request_redirect.path is not None:
            yield from _path_modifier(f"{at}.requestRedirect.path", f.request_redirect.path)
        if f.url_rewrite is not None and f.url_rewrite.path is not None:
            yield from _path_modifier(f"{at}.urlRewrite.path", f.url_rewrite.path)
        if f.cors is not None:
            yield from _cors(f"{at}.cors", f.cors)
        if f.external_auth is not None:
            yield from external_auth(f"{at}.externalAuth", f.external_auth)


def _shared_filter(at: str, f: HTTPRouteFilter | GRPCRouteFilter) -> Found:
    """The members HTTPRoute and GRPCRoute filters share: header modifiers and mirrors."""
    if f.request_header_modifier is not None:
        yield from _header_filter(f"{at}.requestHeaderModifier", f.request_header_modifier)
    if f.response_header_modifier is not None:
        yield from _header_filter(f"{at}.responseHeaderModifier", f.response_header_modifier)
    if f.request_mirror is not None:
        yield from _mirror(f"{at}.requestMirror", f.request_mirror)


def _grpc_filters(path: str, filters: Sequence[GRPCRouteFilter]) -> Found:
    yield from _filter_list(path, [f.type for f in filters], _GRPC_ONCE)
    for i, f in enumerate(filters):
        at = f"{path}[{i}]"
        yield from filter_members(at, f, _GRPC_MEMBERS)
        yield from _shared_filter(at, f)


# --- HTTPRoute ----------------------------------------------------------------------------------


def _path_value(path: str, match: HTTPRouteMatch) -> Found:
    p = match.path
    if p.type not in ("Exact", "PathPrefix"):
        return  # RegularExpression: the dialect is ours to check, in the core
    at = f"{path}.path.value"
    when = "when type one of ['Exact', 'PathPrefix']"
    v = p.value
    if not v.startswith("/"):
        yield Violation(at, f"value must be an absolute path and start with '/' {when}")
    for bad in ("//", "/./", "/../", "%2f", "%2F", "#"):
        if bad in v:
            yield Violation(at, f"must not contain '{bad}' {when}")
    for bad in ("/..", "/."):
        if v.endswith(bad):
            yield Violation(at, f"must not end with '{bad}' {when}")
    if not PATH_CHARS.match(v):
        yield Violation(
            at,
            "must only contain valid characters (matching "
            "^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types "
            "['Exact', 'PathPrefix']",
        )


def _uses_replace_prefix(filters: Sequence[HTTPRouteFilter]) -> tuple[bool, bool]:
    """(redirect, rewrite) use `ReplacePrefixMatch` with a value."""

    def uses(p: HTTPPathModifier | None) -> bool:
        return (
            p is not None and p.type == "ReplacePrefixMatch" and p.replace_prefix_match is not None
        )

    redirect = any(
        f.request_redirect is not None and uses(f.request_redirect.path) for f in filters
    )
    rewrite = any(f.url_rewrite is not None and uses(f.url_rewrite.path) for f in filters)
    return redirect, rewrite


def _http_rule(path: str, rule: HTTPRouteRule) -> Found:
    if rule.backend_refs and any(f.request_redirect is not None for f in rule.filters):
        yield Violation(path, "RequestRedirect filter must not be used together with backendRefs")
    single_prefix = len(rule.matches) == 1 and rule.matches[0].path.type == "PathPrefix"
    if not single_prefix:
        redirect, rewrite = _uses_replace_prefix(rule.filters)
        for used, name in ((redirect, "RequestRedirect"), (rewrite, "URLRewrite")):
            if used:
                yield Violation(
                    path,
                    f"When using {name} filter with path.replacePrefixMatch, exactly one "
                    "PathPrefix match must be specified",
                )
        for j, backend in enumerate(rule.backend_refs):
            redirect, rewrite = _uses_replace_prefix(backend.filters)
            for used, name in ((redirect, "RequestRedirect"), (rewrite, "URLRewrite")):
                if used:
                    yield Violation(
                        f"{path}.backendRefs[{j}]",
                        f"Within backendRefs, when using {name} filter with "
                        "path.replacePrefixMatch, exactly one PathPrefix match must be specified",
                    )
    for j, match in enumerate(rule.matches):
        at = f"{path}.matches[{j}]"
        yield from _path_value(at, match)
        yield from duplicates(f"{at}.headers", [h.name for h in match.headers])
        yield from duplicates(f"{at}.queryParams", [q.name for q in match.query_params])
    yield from _http_filters(f"{path}.filters", rule.filters)
    for j, backend in enumerate(rule.backend_refs):
        yield from _backend_port(f"{path}.backendRefs[{j}]", backend)
        yield from _http_filters(f"{path}.backendRefs[{j}].filters", backend.filters)
    t = rule.timeouts
    if (
        t is not None
        and t.request is not None
        and t.backend_request is not None
        and duration_millis(t.request) != 0
        and duration_millis(t.backend_request) > duration_millis(t.request)
    ):
        yield Violation(
            f"{path}.timeouts", "backendRequest timeout cannot be longer than request timeout"
        )
    if rule.retry is not None:
        yield from duplicates(f"{path}.retry.codes", list(rule.retry.codes))
    if rule.session_persistence is not None:
        yield from session_persistence(f"{path}.sessionPersistence", rule.session_persistence)


def http_route(route: HTTPRoute) -> Found:
    spec = route.spec
    yield from _parent_refs("spec.parentRefs", spec.parent_refs)
    yield from _total_matches("spec.rules", (len(r.matches) for r in spec.rules))
    yield from _rule_names("spec.rules", [r.name for r in spec.rules])
    for i, rule in enumerate(spec.rules):
        yield from _http_rule(f"spec.rules[{i}]", rule)


# --- GRPCRoute ----------------------------------------------------------------------------------


def grpc_route(route: GRPCRoute) -> Found:
    spec = route.spec
    yield from _parent_refs("spec.parentRefs", spec.parent_refs)
    yield from _total_matches("spec.rules", (len(r.matches) for r in spec.rules))
    yield from _rule_names("spec.rules", [r.name for r in spec.rules])
    for i, rule in enumerate(spec.rules):
        path = f"spec.rules[{i}]"
        for j, match in enumerate(rule.matches):
            at = f"{path}.matches[{j}]"
            yield from duplicates(f"{at}.headers", [h.name for h in match.headers])
            m = match.method
            if m is None:
                continue
            if m.service is None and m.method is None:
                yield Violation(
                    f"{at}.method", "One or both of 'service' or 'method' must be specified"
                )
            if m.type == "Exact" and m.service is not None and not GRPC_SERVICE.match(m.service):
                yield Violation(
                    f"{at}.method.service",
                    "service must only contain valid characters (matching "
                    r"^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$)",
                )
            if m.type == "Exact" and m.method is not None and not GRPC_METHOD.match(m.method):
                yield Violation(
                    f"{at}.method.method",
                    "method must only contain valid characters (matching ^[A-Za-z_][A-Za-z_0-9]*$)",
                )
        yield from _grpc_filters(f"{path}.filters", rule.filters)
        for j, backend in enumerate(rule.backend_refs):
            yield from _backend_port(f"{path}.backendRefs[{j}]", backend)
            yield from _grpc_filters(f"{path}.backendRefs[{j}].filters", backend.filters)
        if rule.session_persistence is not None:
            yield from session_persistence(f"{path}.sessionPersistence", rule.session_persistence)


# --- TLSRoute, TCPRoute, UDPRoute ---------------------------------------------------------------


def l4_route(route: TLSRoute | TCPRoute | UDPRoute) -> Found:
    spec = route.spec
    yield from _parent_refs("spec.parentRefs", spec.parent_refs)
    if api_version_of(route) == "v1" and len(spec.rules) > 1:
        # v1alpha2 allowed up to 16 rules; v1 has exactly one.
        yield Violation("spec.rules", f"Too many: {len(spec.rules)}: must have at most 1 items")
    yield from _rule_names("spec.rules", [r.name for r in spec.rules])
    for i, rule in enumerate(spec.rules):
        for j, backend in enumerate(rule.backend_refs):
            yield from _backend_port(f"spec.rules[{i}].backendRefs[{j}]", backend)


def tls_route(route: TLSRoute) -> Found:
    yield from l4_route(route)
    hostnames = route.spec.hostnames
    if api_version_of(route) != "v1":
        return
    if not hostnames:
        yield Violation("spec.hostnames", "Required value")
    for i, h in enumerate(hostnames):
        at = f"spec.hostnames[{i}]"
        try:
            ipaddress.ip_address(h)
        except ValueError:
            pass
        else:
            yield Violation(at, "Hostnames cannot contain an IP")
            continue
        if "*" in h and not (h.startswith("*.") and PRECISE_HOSTNAME.match(h[2:])):
            yield Violation(
                at,
                "Wildcards on hostnames must be the first label, and the rest of hostname must "
                "be valid based on RFC-1123",
            )
