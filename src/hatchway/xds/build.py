"""`build(ir) -> XdsResources`: the whole IR -> Envoy step, pure and deterministic."""

from __future__ import annotations

from hatchway import gcpause
from hatchway.ir import IR, Cluster, Forward, Origin, Protocol, VirtualHost
from hatchway.xds.clusters import cluster_messages
from hatchway.xds.listeners import build_listener
from hatchway.xds.resources import (
    CLUSTER,
    ENDPOINT,
    LISTENER,
    ROUTE,
    SECRET,
    BuildCache,
    BuiltCluster,
    ResourceSet,
    UniqueOrigins,
    XdsResources,
    hash_of,
    union_origins,
)
from hatchway.xds.secrets import build_secrets
from hatchway.xds.settings import XdsSettings
from hatchway.xds.tracing import build_default_collector
from hatchway.xds.udp_weights import build_udp_weighted_cluster

# Built from the IR's listeners alone (UDP weighted clusters also read the IR's clusters).
_LISTENER_SIDE = (SECRET, LISTENER, ROUTE)


def build(
    ir: IR, settings: XdsSettings | None = None, cache: BuildCache | None = None
) -> XdsResources:
    """Translate the IR into xDS resources. Unchanged IR gives byte-identical resources.

    Pass the same `cache` to consecutive builds (a running gateway does) to reuse what
    did not change: virtual hosts and Envoy routes per IR route, the whole listener side
    when the listeners are the same, serialized messages."""
    # Tens of thousands of acyclic objects (messages, bytes, origin tuples): the cyclic GC
    # would run full passes over everything live and find nothing (10,000 routes: 2.9 s
    # with it, 0.8 s without). `translate` pauses it for the same reason.
    with gcpause.paused():
        return _build(ir, settings or XdsSettings(), cache)


def _build(ir: IR, settings: XdsSettings, cache: BuildCache | None) -> XdsResources:
    previous = cache.begin(settings, ir.listeners) if cache is not None else None
    out = ResourceSet(cache)
    if previous is not None:
        out.adopt(previous, _LISTENER_SIDE)
    else:
        for listener in ir.listeners:
            build_secrets(listener, out)
            build_listener(listener, out, settings)
    # Cluster users come from the virtual hosts just built (or the last build's, unchanged).
    users = cache.users if previous is not None and cache is not None else _cluster_users(ir, out)
    for cluster in sorted(ir.clusters, key=lambda c: c.name):
        cluster_users = users.get(cluster.name)
        kept = cache.cluster(cluster) if cache is not None else None
        built = _built_cluster(cluster, cluster_users, settings, kept)
        if cache is not None:
            cache.keep_cluster(cluster, cluster_users, built)
        c, cla, origins = built
        out.add_unique(CLUSTER, cluster.name, c, origins)
        out.add_unique(ENDPOINT, cluster.name, cla, origins)
    build_default_collector(settings, out)
    by_name = {c.name: c for c in ir.clusters}
    for listener in ir.listeners:
        if listener.protocol is Protocol.UDP:
            build_udp_weighted_cluster(listener, by_name, out)
    resources = out.freeze(cache.resources if cache is not None else None)
    if cache is not None:
        cache.end(ir.listeners, resources, users)
    return resources


def _built_cluster(
    cluster: Cluster,
    users: UniqueOrigins | None,
    settings: XdsSettings,
    kept: tuple[UniqueOrigins | None, BuiltCluster] | None,
) -> BuiltCluster:
    """Its messages (`kept`: the users and what the last build made from an equal IR
    cluster), and its origins: its Service, then the routes that use it (merged as origin
    sets, not hashed again), for NACK attribution."""
    if kept is not None and kept[0] == users:
        return kept[1]
    c, cla = kept[1][:2] if kept is not None else cluster_messages(cluster, settings)
    service = UniqueOrigins((cluster.service,), (hash_of(cluster.service),))
    return c, cla, union_origins((service, users)) if users is not None else service


def _cluster_users(ir: IR, out: ResourceSet) -> dict[str, UniqueOrigins]:
    """Route (or L4 route) origins per cluster name, first-seen order."""
    users: dict[str, list[UniqueOrigins]] = {}
    for listener in ir.listeners:
        for chain in listener.chains:
            if chain.l4 is not None:
                l4 = UniqueOrigins((chain.l4.origin,), (hash_of(chain.l4.origin),))
                for b in chain.l4.backends:
                    if b.cluster is not None:
                        users.setdefault(b.cluster, []).append(l4)
            for vh in chain.virtual_hosts or ():
                known = out.vhost_users.get(id(vh.routes))
                # Misdirected virtual hosts were not built here, but their routes are users.
                vh_users = known[1] if known is not None else _vhost_users(vh)
                for cluster, origins in vh_users.items():
                    users.setdefault(cluster, []).append(origins)
    return {cluster: union_origins(parts) for cluster, parts in users.items()}


def _vhost_users(vh: VirtualHost) -> dict[str, UniqueOrigins]:
    users: dict[str, dict[Origin, None]] = {}
    for route in vh.routes:
        if isinstance(route.action, Forward):
            for b in route.action.backends:
                if b.cluster is not None:
                    users.setdefault(b.cluster, {})[route.origin] = None
        for m in route.mirrors:
            users.setdefault(m.cluster, {})[route.origin] = None
    return {cluster: UniqueOrigins.of(origins) for cluster, origins in users.items()}
