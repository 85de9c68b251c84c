"""IR virtual hosts -> one Envoy RouteConfiguration (per HTTP port, or per HTTPS SNI chain)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from envoy.config.route.v3 import route_components_pb2, route_pb2

from hatchway.ir import FilterChain, Listener, Origin, Route
from hatchway.ir.re2 import re2_problem
from hatchway.xds.headers import fill_headers
from hatchway.xds.http_actions import (
    fill_action,
    match_host_with_port,
    redirect_needs_port_variant,
)
from hatchway.xds.http_filters import fill_per_route_filters
from hatchway.xds.matches import fill_route_match
from hatchway.xds.misdirected import (
    fill_misdirected_route,
    is_misdirected,
    listener_host_patterns,
)
from hatchway.xds.resources import ROUTE, BuiltRoute, ResourceSet, RouteFacts
from hatchway.xds.settings import XdsSettings


def build_route_config(
    name: str, listener: Listener, chain: FilterChain, out: ResourceSet, settings: XdsSettings
) -> None:
    cfg = route_pb2.RouteConfiguration()
    cfg.name = name
    # `Host: foo.com:8080` selects the `foo.com` virtual host; the Host header itself is
    # forwarded unchanged (we never strip the port from it).
    cfg.ignore_port_in_host_matching = True
    # Off: routes may point at the never-defined invalid-backend cluster (500 share), and
    # Envoy would NACK the whole RouteConfiguration for it. Every *other* cluster reference
    # is checked by `xds.validate` before publishing, and the runtime pushes CDS before RDS.
    cfg.validate_clusters.value = False
    origins: dict[Origin, None] = {chain.listener: None}
    cache = out.route_cache
    facts: list[RouteFacts] = []
    vhosts = chain.virtual_hosts or ()
    for vh in vhosts:
        v = cfg.virtual_hosts.add()
        v.name = vh.name
        v.domains.append(vh.domain)
        vh_origins: dict[Origin, None] = {vh.listener: None}
        if is_misdirected(listener, chain, vh):
            fill_misdirected_route(v.routes.add())
            out.add_part((ROUTE, name, vh.name), tuple(vh_origins))
            continue
        framed: list[bytes] = []
        for route in vh.routes:
            built = cache.get(route, listener.protocol, vh.domain) if cache else None
            if built is None:
                built = build_route(route, listener, vh.domain, settings)
                if cache is not None:
                    cache.put(route, listener.protocol, vh.domain, built)
            framed.append(built.framed)
            part = f"{vh.name}/{route.name}"
            out.add_part((ROUTE, name, part), (route.origin, vh.listener))
            if built.clusters or built.regex_problems:
                facts.append(RouteFacts(part, route.name, built.clusters, built.regex_problems))
            vh_origins[route.origin] = None
        # One parse of the joined routes instead of one message per route (10k routes).
        v.MergeFromString(b"".join(framed))
        out.add_part((ROUTE, name, vh.name), tuple(vh_origins))
        origins.update(vh_origins)
    for pattern, misdirected in listener_host_patterns(listener, chain, vhosts):
        v = cfg.virtual_hosts.add()
        v.name = f"{chain.name}/listener/{pattern}"
        v.domains.append(pattern)
        if misdirected:
            fill_misdirected_route(v.routes.add())
    out.add(ROUTE, name, cfg, tuple(origins))
    out.set_route_facts(name, tuple(facts))


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# Field `routes` of VirtualHost, length-delimited: what precedes each serialized Route.
_ROUTES_TAG = _varint(
    route_components_pb2.VirtualHost.DESCRIPTOR.fields_by_name["routes"].number << 3 | 2
)


def build_route(route: Route, listener: Listener, domain: str, settings: XdsSettings) -> BuiltRoute:
    """The Envoy route(s) for `route` under `domain` (two when a redirect must know whether
    the Host header carried a port), framed for a VirtualHost, and what `validate` checks."""
    variants = (
        (True, False) if redirect_needs_port_variant(route, listener.protocol, domain) else (False,)
    )
    framed: list[bytes] = []
    clusters: dict[str, None] = {}
    problems: dict[str, None] = {}
    for host_has_port in variants:
        r = route_components_pb2.Route()
        r.name = route.name
        fill_route_match(r.match, route.match)
        if host_has_port:
            match_host_with_port(r.match)
        fill_action(r, route, listener.protocol, domain, host_has_port)
        fill_headers(r.request_headers_to_add, r.request_headers_to_remove, route.request_headers)
        fill_headers(
            r.response_headers_to_add, r.response_headers_to_remove, route.response_headers
        )
        fill_per_route_filters(r.typed_per_filter_config, route, settings)
        data = r.SerializeToString(deterministic=True)
        framed += (_ROUTES_TAG, _varint(len(data)), data)
        clusters.update(dict.fromkeys(route_clusters(r)))
        problems.update(dict.fromkeys(regex_problems(r)))
    return BuiltRoute(b"".join(framed), tuple(clusters), tuple(problems))


def regex_problems(r: Any) -> list[str]:
    """Messages for the patterns of Envoy route `r` that RE2 (so Envoy) would refuse."""
    out: list[str] = []
    for where, pattern in _route_regexes(r):
        reason = re2_problem(pattern)
        if reason:
            out.append(f"route {r.name!r}: {where} {pattern!r}: {reason}")
    return out


def _route_regexes(r: Any) -> Iterator[tuple[str, str]]:
    m = r.match
    if m.HasField("safe_regex"):
        yield "path regex", m.safe_regex.regex
    for h in m.headers:
        if h.string_match.HasField("safe_regex"):
            yield f"header {h.name} regex", h.string_match.safe_regex.regex
    for q in m.query_parameters:
        if q.string_match.HasField("safe_regex"):
            yield f"query {q.name} regex", q.string_match.safe_regex.regex
    if r.HasField("route") and r.route.HasField("regex_rewrite"):
        yield "rewrite regex", r.route.regex_rewrite.pattern.regex


def route_facts(cfg: Any) -> tuple[RouteFacts, ...]:
    """The facts of a RouteConfiguration not built by `build_route_config`, read from it."""
    out: list[RouteFacts] = []
    for vh in cfg.virtual_hosts:
        for r in vh.routes:
            clusters = tuple(dict.fromkeys(route_clusters(r)))
            problems = tuple(regex_problems(r))
            if clusters or problems:
                out.append(RouteFacts(f"{vh.name}/{r.name}", r.name, clusters, problems))
    return tuple(out)


def route_clusters(r: Any) -> list[str]:
    """Clusters an Envoy Route forwards or mirrors to (for validation)."""
    if not r.HasField("route"):
        return []
    a = r.route
    names = [a.cluster] if a.cluster else []
    names.extend(cw.name for cw in a.weighted_clusters.clusters)
    names.extend(m.cluster for m in a.request_mirror_policies)
    return names
