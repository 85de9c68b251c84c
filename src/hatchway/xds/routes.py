"""IR virtual hosts -> one Envoy RouteConfiguration (per HTTP port, or per HTTPS SNI chain)."""

from __future__ import annotations

from typing import Any

from envoy.config.route.v3 import route_pb2

from hatchway.ir import FilterChain, Listener, Origin, Route
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
from hatchway.xds.resources import ROUTE, ResourceSet
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
        for route in vh.routes:
            cached = cache.get(route, listener.protocol, vh.domain) if cache else None
            if cached is not None:
                for data in cached:
                    v.routes.add().MergeFromString(data)
            else:
                built = _build_routes(v, route, listener, vh.domain, settings)
                if cache is not None:
                    cache.put(route, listener.protocol, vh.domain, built)
            out.add_part((ROUTE, name, f"{vh.name}/{route.name}"), (route.origin, vh.listener))
            vh_origins[route.origin] = None
        out.add_part((ROUTE, name, vh.name), tuple(vh_origins))
        origins.update(vh_origins)
    for pattern, misdirected in listener_host_patterns(listener, chain, vhosts):
        v = cfg.virtual_hosts.add()
        v.name = f"{chain.name}/listener/{pattern}"
        v.domains.append(pattern)
        if misdirected:
            fill_misdirected_route(v.routes.add())
    out.add(ROUTE, name, cfg, tuple(origins))


def _build_routes(
    v: Any, route: Route, listener: Listener, domain: str, settings: XdsSettings
) -> tuple[bytes, ...]:
    """Append the Envoy route(s) for `route` to virtual host `v`; their serialized forms."""
    variants = (
        (True, False) if redirect_needs_port_variant(route, listener.protocol, domain) else (False,)
    )
    out: list[bytes] = []
    for host_has_port in variants:
        r = v.routes.add()
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
        out.append(r.SerializeToString(deterministic=True))
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
