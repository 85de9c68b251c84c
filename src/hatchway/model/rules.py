"""Cross-field validation the CRDs express in CEL (x-kubernetes-validations) and list keys.

Each check yields `Violation`s whose field path is in the user's camelCase spelling. The API
server applies CRD defaults before it evaluates CEL, and so do we: these checks run on the
validated, defaulted model. Where the API server would name the whole list
(`spec.listeners`), we name the offending element (`spec.listeners[2].hostname`), which is
easier to act on. Regular expressions in matches are not checked here (the core does that).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from hatchway.model.core import EndpointSlice
from hatchway.model.durations import duration_millis
from hatchway.model.gateway import (
    FrontendTLSValidation,
    Gateway,
    GatewayInfrastructure,
    Listener,
    ListenerFilter,
    ListenerSet,
    ListenerTLSConfig,
)
from hatchway.model.meta import BackendObjectReference, ParentReference
from hatchway.model.policy import BackendTLSPolicy, BackendTLSPolicyValidation
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
from hatchway.model.shown import quoted
from hatchway.model.xbackend import XBACKEND_GROUP, XBACKEND_KIND, XBackend


@dataclass(frozen=True)
class Violation:
    field: str
    message: str


Found = Iterator[Violation]

MAX_MATCHES_PER_ROUTE = 128

_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$"
)
_PRECISE_HOSTNAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PATH_CHARS = re.compile(r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$")
_GRPC_SERVICE = re.compile(r"^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$", re.IGNORECASE)
_GRPC_METHOD = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")


def check(obj: BaseModel) -> list[Violation]:
    """All CEL-rule and list-key violations of one validated object (empty when valid)."""
    checker = _CHECKS.get(type(obj))
    return list(checker(obj)) if checker is not None else []


# --- helpers ------------------------------------------------------------------------------------


def _duplicates(path: str, keys: Sequence[Hashable], what: str = "Duplicate value") -> Found:
    """List-type map/set semantics: each key at most once (reported at the repeated element)."""
    seen: set[Hashable] = set()
    for i, key in enumerate(keys):
        if key in seen:
            yield Violation(f"{path}[{i}]", f"{what}: {_show(key)}")
        seen.add(key)


def _show(key: Hashable) -> str:
    return f'"{key}"' if isinstance(key, str) else str(key)


def _version(obj: BaseModel) -> str:
    api_version: str = getattr(obj, "api_version", "")
    return api_version.rsplit("/", 1)[-1]


# --- Gateway and ListenerSet --------------------------------------------------------------------


def _listeners(path: str, listeners: Sequence[Listener], owner: str) -> Found:
    for i, listener in enumerate(listeners):
        at = f"{path}[{i}]"
        if listener.protocol in ("HTTP", "TCP", "UDP") and listener.tls is not None:
            yield Violation(
                f"{at}.tls", "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']"
            )
        if (
            listener.protocol == "HTTPS"
            and listener.tls is not None
            and listener.tls.mode != "Terminate"
        ):
            yield Violation(f"{at}.tls.mode", "tls mode must be Terminate for protocol HTTPS")
        if listener.protocol == "TLS" and listener.tls is None:
            yield Violation(f"{at}.tls", "tls mode must be set for protocol TLS")
        if listener.protocol in ("TCP", "UDP") and listener.hostname:
            yield Violation(
                f"{at}.hostname", "hostname must not be specified for protocols ['TCP', 'UDP']"
            )
        if listener.tls is not None:
            yield from _listener_tls(f"{at}.tls", listener.tls)
        if listener.filters is not None:
            if listener.protocol not in ("HTTP", "HTTPS"):
                yield Violation(
                    f"{at}.filters", "filters may only be set when protocol is HTTP or HTTPS"
                )
            for j, f in enumerate(listener.filters.requests):
                yield from _listener_filter(f"{at}.filters.requests[{j}]", f)
    for v in _duplicates(path, [listener.name for listener in listeners]):
        yield Violation(f"{v.field}.name", f"Listener name must be unique within the {owner}")
    triples = [(lst.port, lst.protocol, lst.hostname or "") for lst in listeners]
    for v in _duplicates(path, triples):
        yield Violation(
            v.field,
            "Combination of port, protocol and hostname must be unique for each listener",
        )


def _listener_filter(path: str, f: ListenerFilter) -> Found:
    for ftype, spelled, present in (
        ("ExternalAuth", "externalAuth", f.external_auth is not None),
        ("ExtensionRef", "extensionRef", f.extension_ref is not None),
    ):
        if present and f.type != ftype:
            yield Violation(
                f"{path}.{spelled}",
                f"filter.{spelled} must be nil if the filter.type is not {ftype}",
            )
        if not present and f.type == ftype:
            yield Violation(
                f"{path}.{spelled}", f"filter.{spelled} must be specified for {ftype} filter.type"
            )
    if f.external_auth is not None:
        yield from _external_auth(f"{path}.externalAuth", f.external_auth)


def _listener_tls(path: str, tls: ListenerTLSConfig) -> Found:
    if tls.mode == "Terminate" and not tls.certificate_refs and not tls.options:
        yield Violation(path, "certificateRefs or options must be specified when mode is Terminate")


def _key_map(path: str, keys: Iterable[str], what: str) -> Found:
    for key in keys:
        if not _LABEL_KEY.match(key):
            yield Violation(
                f"{path}[{key}]",
                f"{what} keys must be in the form of an optional DNS subdomain prefix followed "
                "by a required name segment of up to 63 characters.",
            )
        elif len(key.split("/")[0]) >= 253:
            yield Violation(
                f"{path}[{key}]",
                f"If specified, the {what.lower()} key's prefix must be a DNS subdomain not "
                "longer than 253 characters in total.",
            )


def _infrastructure(path: str, infra: GatewayInfrastructure) -> Found:
    yield from _key_map(f"{path}.labels", infra.labels, "Label")
    yield from _key_map(f"{path}.annotations", infra.annotations, "Annotation")


def _gateway(gw: Gateway) -> Found:
    spec = gw.spec
    yield from _listeners("spec.listeners", spec.listeners, "Gateway")
    for i, address in enumerate(spec.addresses):
        if (
            address.type == "Hostname"
            and address.value is not None
            and not _HOSTNAME.match(address.value)
        ):
            yield Violation(
                f"spec.addresses[{i}].value",
                "Hostname value must be empty or contain only valid characters (matching "
                r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)",
            )
    for i, address in enumerate(spec.addresses):
        if not routability_valid(address.routability):
            yield Violation(
                f"spec.addresses[{i}].routability",
                "Routability must be empty, Cluster, or an implementation-specific prefixed "
                "path; k8s.io and its subdomains are reserved",
            )
    for kind in ("IPAddress", "Hostname"):
        values = [a.value for a in spec.addresses if a.type == kind and a.value is not None]
        for v in _duplicates("spec.addresses", values):
            yield Violation("spec.addresses", f"{kind} values must be unique: {v.message}")
    if spec.infrastructure is not None:
        yield from _infrastructure("spec.infrastructure", spec.infrastructure)
    if spec.tls is not None and spec.tls.frontend is not None:
        frontend = spec.tls.frontend
        yield from _trust_bundle_refs(
            "spec.tls.frontend.default.validation.caCertificateRefs", frontend.default.validation
        )
        for i, per_port in enumerate(frontend.per_port):
            yield from _trust_bundle_refs(
                f"spec.tls.frontend.perPort[{i}].tls.validation.caCertificateRefs",
                per_port.tls.validation,
            )
        ports = [p.port for p in spec.tls.frontend.per_port]
        for v in _duplicates("spec.tls.frontend.perPort", ports):
            yield Violation(
                f"{v.field}.port", "Port for TLS configuration must be unique within the Gateway"
            )


def routability_valid(value: str) -> bool:
    """GEP-5093: empty, `Cluster`, or `prefix/path` with a DNS-subdomain prefix that is not
    `k8s.io` or under it."""
    if value in ("", "Cluster"):
        return True
    prefix, slash, rest = value.partition("/")
    return (
        bool(slash and rest)
        and len(prefix) <= 253
        and bool(_PRECISE_HOSTNAME.match(prefix))
        and prefix != "k8s.io"
        and not prefix.endswith(".k8s.io")
    )


def _trust_bundle_refs(path: str, validation: FrontendTLSValidation | None) -> Found:
    refs = validation.ca_certificate_refs if validation is not None else ()
    if any(
        (r.group, r.kind) == ("certificates.k8s.io", "ClusterTrustBundle") and r.namespace
        for r in refs
    ):
        yield Violation(path, "ClusterTrustBundle references must not specify namespace")


def _listener_set(ls: ListenerSet) -> Found:
    yield from _listeners("spec.listeners", ls.spec.listeners, "ListenerSet")


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
    yield from _duplicates(f"{path}.set", [h.name for h in f.set])
    yield from _duplicates(f"{path}.add", [h.name for h in f.add])
    yield from _duplicates(f"{path}.remove", list(f.remove))


def _mirror(path: str, m: HTTPRequestMirrorFilter) -> Found:
    yield from _backend_port(f"{path}.backendRef", m.backend_ref)
    if m.percent is not None and m.fraction is not None:
        yield Violation(
            path, "Only one of percent or fraction may be specified in HTTPRequestMirrorFilter"
        )
    if m.fraction is not None and m.fraction.numerator > m.fraction.denominator:
        yield Violation(f"{path}.fraction", "numerator must be less than or equal to denominator")


def _session_persistence(path: str, sp: SessionPersistence) -> Found:
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


def _filter_members(
    path: str, f: HTTPRouteFilter | GRPCRouteFilter, members: dict[str, tuple[str, str]]
) -> Found:
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
        yield from _duplicates(f"{path}.{spelled}", list(values))
        if "*" in values and len(values) > 1:
            what = spelled[0].upper() + spelled[1:]
            yield Violation(
                f"{path}.{spelled}", f"{what} cannot contain '*' alongside other {noun}"
            )
    yield from _duplicates(f"{path}.exposeHeaders", list(cors.expose_headers))


def _external_auth(path: str, ea: HTTPExternalAuthFilter) -> Found:
    yield from _backend_port(f"{path}.backendRef", ea.backend_ref)
    for proto, spelled, present in (("GRPC", "grpc", ea.grpc), ("HTTP", "http", ea.http)):
        if ea.protocol == proto and present is None:
            yield Violation(path, f"{spelled} must be specified when protocol is set to '{proto}'")
        if present is not None and ea.protocol != proto:
            yield Violation(path, f"protocol must be '{proto}' when {spelled} is set")
    if ea.grpc is not None:
        yield from _duplicates(f"{path}.grpc.allowedHeaders", list(ea.grpc.allowed_headers))
    if ea.http is not None:
        yield from _duplicates(f"{path}.http.allowedHeaders", list(ea.http.allowed_headers))
        yield from _duplicates(
            f"{path}.http.allowedResponseHeaders", list(ea.http.allowed_response_headers)
        )


def _http_filters(path: str, filters: Sequence[HTTPRouteFilter]) -> Found:
    yield from _filter_list(path, [f.type for f in filters], _HTTP_ONCE)
    for i, f in enumerate(filters):
        at = f"{path}[{i}]"
        yield from _filter_members(at, f, _HTTP_MEMBERS)
        if f.request_header_modifier is not None:
            yield from _header_filter(f"{at}.requestHeaderModifier", f.request_header_modifier)
        if f.response_header_modifier is not None:
            yield from _header_filter(f"{at}.responseHeaderModifier", f.response_header_modifier)
        if f.request_mirror is not None:
            yield from _mirror(f"{at}.requestMirror", f.request_mirror)
        if f.request_redirect is not None and f.request_redirect.path is not None:
            yield from _path_modifier(f"{at}.requestRedirect.path", f.request_redirect.path)
        if f.url_rewrite is not None and f.url_rewrite.path is not None:
            yield from _path_modifier(f"{at}.urlRewrite.path", f.url_rewrite.path)
        if f.cors is not None:
            yield from _cors(f"{at}.cors", f.cors)
        if f.external_auth is not None:
            yield from _external_auth(f"{at}.externalAuth", f.external_auth)


def _grpc_filters(path: str, filters: Sequence[GRPCRouteFilter]) -> Found:
    yield from _filter_list(path, [f.type for f in filters], _GRPC_ONCE)
    for i, f in enumerate(filters):
        at = f"{path}[{i}]"
        yield from _filter_members(at, f, _GRPC_MEMBERS)
        if f.request_header_modifier is not None:
            yield from _header_filter(f"{at}.requestHeaderModifier", f.request_header_modifier)
        if f.response_header_modifier is not None:
            yield from _header_filter(f"{at}.responseHeaderModifier", f.response_header_modifier)
        if f.request_mirror is not None:
            yield from _mirror(f"{at}.requestMirror", f.request_mirror)


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
    if not _PATH_CHARS.match(v):
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
        yield from _duplicates(f"{at}.headers", [h.name for h in match.headers])
        yield from _duplicates(f"{at}.queryParams", [q.name for q in match.query_params])
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
        yield from _duplicates(f"{path}.retry.codes", list(rule.retry.codes))
    if rule.session_persistence is not None:
        yield from _session_persistence(f"{path}.sessionPersistence", rule.session_persistence)


def _http_route(route: HTTPRoute) -> Found:
    spec = route.spec
    yield from _parent_refs("spec.parentRefs", spec.parent_refs)
    yield from _total_matches("spec.rules", (len(r.matches) for r in spec.rules))
    yield from _rule_names("spec.rules", [r.name for r in spec.rules])
    for i, rule in enumerate(spec.rules):
        yield from _http_rule(f"spec.rules[{i}]", rule)


# --- GRPCRoute ----------------------------------------------------------------------------------


def _grpc_route(route: GRPCRoute) -> Found:
    spec = route.spec
    yield from _parent_refs("spec.parentRefs", spec.parent_refs)
    yield from _total_matches("spec.rules", (len(r.matches) for r in spec.rules))
    yield from _rule_names("spec.rules", [r.name for r in spec.rules])
    for i, rule in enumerate(spec.rules):
        path = f"spec.rules[{i}]"
        for j, match in enumerate(rule.matches):
            at = f"{path}.matches[{j}]"
            yield from _duplicates(f"{at}.headers", [h.name for h in match.headers])
            m = match.method
            if m is None:
                continue
            if m.service is None and m.method is None:
                yield Violation(
                    f"{at}.method", "One or both of 'service' or 'method' must be specified"
                )
            if m.type == "Exact" and m.service is not None and not _GRPC_SERVICE.match(m.service):
                yield Violation(
                    f"{at}.method.service",
                    "service must only contain valid characters (matching "
                    r"^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$)",
                )
            if m.type == "Exact" and m.method is not None and not _GRPC_METHOD.match(m.method):
                yield Violation(
                    f"{at}.method.method",
                    "method must only contain valid characters (matching ^[A-Za-z_][A-Za-z_0-9]*$)",
                )
        yield from _grpc_filters(f"{path}.filters", rule.filters)
        for j, backend in enumerate(rule.backend_refs):
            yield from _backend_port(f"{path}.backendRefs[{j}]", backend)
            yield from _grpc_filters(f"{path}.backendRefs[{j}].filters", backend.filters)
        if rule.session_persistence is not None:
            yield from _session_persistence(f"{path}.sessionPersistence", rule.session_persistence)


# --- TLSRoute, TCPRoute, UDPRoute ---------------------------------------------------------------


def _l4_route(route: TLSRoute | TCPRoute | UDPRoute) -> Found:
    spec = route.spec
    yield from _parent_refs("spec.parentRefs", spec.parent_refs)
    if _version(route) == "v1" and len(spec.rules) > 1:
        # v1alpha2 allowed up to 16 rules; v1 has exactly one.
        yield Violation("spec.rules", f"Too many: {len(spec.rules)}: must have at most 1 items")
    yield from _rule_names("spec.rules", [r.name for r in spec.rules])
    for i, rule in enumerate(spec.rules):
        for j, backend in enumerate(rule.backend_refs):
            yield from _backend_port(f"spec.rules[{i}].backendRefs[{j}]", backend)


def _tls_route(route: TLSRoute) -> Found:
    yield from _l4_route(route)
    hostnames = route.spec.hostnames
    if _version(route) != "v1":
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
        if "*" in h and not (h.startswith("*.") and _PRECISE_HOSTNAME.match(h[2:])):
            yield Violation(
                at,
                "Wildcards on hostnames must be the first label, and the rest of hostname must "
                "be valid based on RFC-1123",
            )


# --- BackendTLSPolicy ---------------------------------------------------------------------------


def _backend_tls_policy(policy: BackendTLSPolicy) -> Found:
    spec = policy.spec
    refs = spec.target_refs
    for i, a in enumerate(refs):
        for b in refs[:i]:
            if (a.group, a.kind, a.name) != (b.group, b.kind, b.name):
                continue
            if (a.section_name is None) != (b.section_name is None):
                yield Violation(
                    f"spec.targetRefs[{i}]",
                    "sectionName must be specified when targetRefs includes 2 or more "
                    "references to the same target",
                )
                break
            if a.section_name == b.section_name:
                yield Violation(
                    f"spec.targetRefs[{i}]",
                    "sectionName must be unique when targetRefs includes 2 or more references "
                    "to the same target",
                )
                break
    yield from _tls_validation("spec.validation", spec.validation)


def _tls_validation(path: str, v: BackendTLSPolicyValidation) -> Found:
    # An empty caCertificateRefs counts as absent: v1.6 allowed it next to
    # wellKnownCACertificates (v1.7 asks for at least one item).
    if bool(v.ca_certificate_refs) == bool(v.well_known_ca_certificates):
        yield Violation(
            path,
            "exactly one of the fields in [caCertificateRefs wellKnownCACertificates] must be set",
        )
    for i, san in enumerate(v.subject_alt_names):
        at = f"{path}.subjectAltNames[{i}]"
        if san.type == "Hostname" and not san.hostname:
            yield Violation(
                at, "SubjectAltName element must contain Hostname, if Type is set to Hostname"
            )
        if san.type != "Hostname" and san.hostname:
            yield Violation(
                at,
                "SubjectAltName element must not contain Hostname, if Type is not set to Hostname",
            )
        if san.type == "URI" and not san.uri:
            yield Violation(at, "SubjectAltName element must contain URI, if Type is set to URI")
        if san.type != "URI" and san.uri:
            yield Violation(
                at, "SubjectAltName element must not contain URI, if Type is not set to URI"
            )


# --- XBackend -----------------------------------------------------------------------------------


def _xbackend(backend: XBackend) -> Found:
    spec = backend.spec
    port = spec.port
    if (port.number is None) == (port.port is None):
        yield Violation(
            "spec.port", "exactly one of number (v1.7) and port (v1.6) must be specified"
        )
    for member, type_, present in (
        ("externalHostname", "ExternalHostname", spec.external_hostname is not None),
        ("endpointSelector", "EndpointSelector", spec.endpoint_selector is not None),
    ):
        if present != (spec.type == type_):
            yield Violation(
                f"spec.{member}",
                f"{member} must be set when type is {type_} and must be unset otherwise",
            )
    if spec.endpoint_selector is not None:
        yield from _key_map(
            "spec.endpointSelector.matchLabels", spec.endpoint_selector.match_labels, "Label"
        )
    tls_on = spec.tls.mode != "None"
    if spec.protocol == "H2C" and tls_on:
        yield Violation(
            "spec.tls",
            "tls must be disabled when protocol is H2C, use protocol HTTP2 for HTTP/2 with tls",
        )
    if spec.protocol == "HTTP2" and not tls_on:
        yield Violation(
            "spec.tls",
            "tls must be enabled when protocol is HTTP2, use protocol H2C for HTTP/2 without tls",
        )
    if spec.protocol == "WSS" and not tls_on:
        yield Violation("spec.tls", "tls must be enabled when protocol is WSS")
    if spec.session_persistence is not None:
        if spec.type != "EndpointSelector":
            yield Violation(
                "spec.sessionPersistence",
                "sessionPersistence can only be set when type is EndpointSelector",
            )
        yield from _session_persistence("spec.sessionPersistence", spec.session_persistence)
    tls = spec.tls
    if (tls.mode == "ClientAndServer") != (tls.client_certificate_ref is not None):
        yield Violation(
            "spec.tls", "clientCertificateRef must be set if and only if mode is ClientAndServer"
        )
    if (tls.mode == "None") == (tls.validation is not None):
        yield Violation(
            "spec.tls",
            "validation must be set if and only if mode is either ClientAndServer or ServerOnly",
        )
    if tls.validation is not None:
        yield from _tls_validation("spec.tls.validation", tls.validation)
    external = spec.external_hostname
    if external is not None and external.hostname.endswith(".cluster.local"):
        yield Violation(
            "spec.externalHostname.hostname",
            "hostname must not be an IP address or end with .cluster.local",
        )


# --- EndpointSlice ------------------------------------------------------------------------------

_IP_KINDS = {"IPv4": ipaddress.IPv4Address, "IPv6": ipaddress.IPv6Address}


def _endpoint_slice(sl: EndpointSlice) -> Found:
    """The API server's address check: an IPv4 (IPv6) slice holds IPv4 (IPv6) addresses."""
    kind = _IP_KINDS.get(sl.address_type)
    if kind is None:
        return  # FQDN: valid, but not something Envoy can dial (the core skips it)
    for i, ep in enumerate(sl.endpoints):
        for j, address in enumerate(ep.addresses):
            try:
                kind(address)
            except ValueError:
                yield Violation(
                    f"endpoints[{i}].addresses[{j}]",
                    f"Invalid value: {quoted(address)}: must be a valid {sl.address_type} address",
                )


_CHECKS: dict[type[BaseModel], Callable[[Any], Found]] = {
    Gateway: _gateway,
    ListenerSet: _listener_set,
    HTTPRoute: _http_route,
    GRPCRoute: _grpc_route,
    TLSRoute: _tls_route,
    TCPRoute: _l4_route,
    UDPRoute: _l4_route,
    BackendTLSPolicy: _backend_tls_policy,
    XBackend: _xbackend,
    EndpointSlice: _endpoint_slice,
}
