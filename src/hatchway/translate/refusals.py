"""What the CRDs allow but Envoy refuses, or would turn into a broken or forged header.

Envoy rejects a whole RouteConfiguration for one such value (so every route on the port), and
a value that reaches a header or cookie unchecked can split the response. Each check names
the field, as the API server would, and the core refuses the rule with `UnsupportedValue`
(route PartiallyInvalid, or not Accepted when no rule is left), so `status --check` fails on
it and nothing of it reaches Envoy. The limits were read off Envoy's own refusals
(`tests/unit/xds/test_xds_envoy_rejects.py` keeps them honest against the real binary).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from hatchway.ir.re2 import re2_problem
from hatchway.model.routes import (
    GRPCRoute,
    GRPCRouteFilter,
    GRPCRouteMatch,
    GRPCRouteRule,
    HTTPHeaderFilter,
    HTTPPathModifier,
    HTTPRoute,
    HTTPRouteFilter,
    HTTPRouteRule,
    SessionPersistence,
)
from hatchway.model.shown import quoted

Refusal = tuple[str, str]  # (field, message)

# RFC 7230 token (header names; RFC 6265 cookie names are the same token).
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# RFC 3986 path characters (pchar and "/"), percent-escapes included.
_PATH = re.compile(r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})*$")
MAX_RETRIES = 2**32 - 1  # Envoy's num_retries is a uint32


def http_rule(at: str, rule: HTTPRouteRule) -> Refusal | None:
    """The first value of `rule` (at `spec.rules[i]`) Envoy would refuse, if any."""
    return next(_http_rule(at, rule), None)


def grpc_rule(at: str, rule: GRPCRouteRule) -> Refusal | None:
    return next(_grpc_rule(at, rule), None)


def route(obj: HTTPRoute | GRPCRoute) -> list[Refusal]:
    """Every value of `obj` Envoy would refuse, in rule order. Status names the first of each
    rule (the rule is dropped there); admission names them all, so one fix can cover them."""
    out: list[Refusal] = []
    if isinstance(obj, HTTPRoute):
        for i, rule in enumerate(obj.spec.rules):
            out += _http_rule(f"spec.rules[{i}]", rule)
    else:
        for i, grpc in enumerate(obj.spec.rules):
            out += _grpc_rule(f"spec.rules[{i}]", grpc)
    return out


def regex(field: str, pattern: str) -> Iterator[Refusal]:
    problem = re2_problem(pattern)
    if problem is not None:
        yield field, f"Invalid value: {quoted(pattern)}: {problem}"


def _http_rule(at: str, rule: HTTPRouteRule) -> Iterator[Refusal]:
    for j, m in enumerate(rule.matches):
        if m.path.type == "RegularExpression":
            yield from regex(f"{at}.matches[{j}].path.value", m.path.value)
        for k, h in enumerate(m.headers):
            if h.type == "RegularExpression":
                yield from regex(f"{at}.matches[{j}].headers[{k}].value", h.value)
        for k, q in enumerate(m.query_params):
            if q.type == "RegularExpression":
                yield from regex(f"{at}.matches[{j}].queryParams[{k}].value", q.value)
    # Every rule of every route is checked on each full translation: what it does not
    # have (filters, backend filters, session persistence) is not walked.
    if rule.filters:
        yield from _filters(f"{at}.filters", rule.filters)
    for b, ref in enumerate(rule.backend_refs):
        if ref.filters:
            yield from _filters(f"{at}.backendRefs[{b}].filters", ref.filters)
    if rule.retry is not None and (rule.retry.attempts or 0) > MAX_RETRIES:
        yield (
            f"{at}.retry.attempts",
            f"Invalid value: {rule.retry.attempts}: at most {MAX_RETRIES} retries are supported",
        )
    if rule.session_persistence is not None:
        yield from _session(f"{at}.sessionPersistence", rule.session_persistence)


def _grpc_rule(at: str, rule: GRPCRouteRule) -> Iterator[Refusal]:
    for j, m in enumerate(rule.matches):
        for k, h in enumerate(m.headers):
            if h.type == "RegularExpression":
                yield from regex(f"{at}.matches[{j}].headers[{k}].value", h.value)
    yield from _filters(f"{at}.filters", rule.filters)
    for b, ref in enumerate(rule.backend_refs):
        yield from _filters(f"{at}.backendRefs[{b}].filters", ref.filters)
    yield from _session(f"{at}.sessionPersistence", rule.session_persistence)
    for j, m in enumerate(rule.matches):
        yield from _grpc_method(f"{at}.matches[{j}].method", m)


def _grpc_method(at: str, m: GRPCRouteMatch) -> Iterator[Refusal]:
    """A RegularExpression method match: each part, then the path regex made of both."""
    mm = m.method
    if mm is None or mm.type != "RegularExpression" or (mm.service is None and mm.method is None):
        return
    parts = [
        refused
        for spelled, part in (("service", mm.service), ("method", mm.method))
        if part is not None
        for refused in regex(f"{at}.{spelled}", part)
    ]
    yield from parts
    if not parts:  # each may compile alone, and not the two together (the size limit)
        yield from regex(at, grpc_method_regex(mm.service, mm.method))


def grpc_method_regex(service: str | None, method: str | None) -> str:
    """The path regex Envoy matches a RegularExpression gRPC method match with."""
    svc = service if service is not None else "[^/]+"
    meth = method if method is not None else "[^/]+"
    return f"/{svc}/{meth}"


def _filters(at: str, filters: Sequence[HTTPRouteFilter | GRPCRouteFilter]) -> Iterator[Refusal]:
    # Field paths are spelled only for a refusal: most rules have none, and every rule of
    # every route is checked on each full translation.
    for i, f in enumerate(filters):
        if f.request_header_modifier is not None:
            yield from _headers(f"{at}[{i}].requestHeaderModifier", f.request_header_modifier)
        if f.response_header_modifier is not None:
            yield from _headers(f"{at}[{i}].responseHeaderModifier", f.response_header_modifier)
        if isinstance(f, HTTPRouteFilter):
            if f.request_redirect is not None and f.request_redirect.path is not None:
                yield from _path(f"{at}[{i}].requestRedirect.path", f.request_redirect.path)
            if f.url_rewrite is not None and f.url_rewrite.path is not None:
                yield from _path(f"{at}[{i}].urlRewrite.path", f.url_rewrite.path)


def _headers(at: str, f: HTTPHeaderFilter) -> Iterator[Refusal]:
    # Names of `set`/`add` are tokens (the CRD's pattern); `remove` is any string there.
    for verb, headers in (("set", f.set), ("add", f.add)):
        for i, h in enumerate(headers):
            problem = _header_name_problem(verb, h.name)
            if problem is not None:
                yield f"{at}.{verb}[{i}].name", problem
    for i, name in enumerate(f.remove):
        problem = _header_name_problem("remove", name)
        if problem is not None:
            yield f"{at}.remove[{i}]", problem


def _header_name_problem(verb: str, name: str) -> str | None:
    if name.startswith(":"):
        return f"Invalid value: {quoted(name)}: pseudo-headers cannot be changed"
    if not _TOKEN.match(name):
        return f"Invalid value: {quoted(name)}: must be an HTTP header name"
    if name.lower() == "host":
        what = "removed" if verb == "remove" else "modified by a header filter"
        hint = "" if verb == "remove" else " (URLRewrite sets the hostname)"
        return f"Invalid value: {quoted(name)}: the Host header cannot be {what}{hint}"
    return None


def _path(at: str, p: HTTPPathModifier) -> Iterator[Refusal]:
    for spelled, value in (
        ("replaceFullPath", p.replace_full_path),
        ("replacePrefixMatch", p.replace_prefix_match),
    ):
        if value is None:
            continue
        if not _PATH.match(value):
            yield (
                f"{at}.{spelled}",
                f"Invalid value: {quoted(value)}: must only contain valid path characters "
                "(RFC 3986; no control characters, spaces, '?' or '#')",
            )
        elif not value.startswith("/") and (value or spelled == "replaceFullPath"):
            yield f"{at}.{spelled}", f"Invalid value: {quoted(value)}: must start with '/'"


def _session(at: str, sp: SessionPersistence | None) -> Iterator[Refusal]:
    if sp is None or sp.session_name is None:
        return
    if not _TOKEN.match(sp.session_name):
        what = "cookie name (RFC 6265)" if sp.type == "Cookie" else "HTTP header name"
        yield (
            f"{at}.sessionName",
            f"Invalid value: {quoted(sp.session_name)}: must be a valid {what}: letters, "
            "digits and !#$%&'*+-.^_`|~ only",
        )
