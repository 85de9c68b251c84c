"""`build(ir) -> XdsResources`: the whole IR -> Envoy step, pure and deterministic."""

from __future__ import annotations

from hatchway.ir import IR, Forward, Origin, Protocol
from hatchway.xds.clusters import build_cluster
from hatchway.xds.listeners import build_listener
from hatchway.xds.resources import (
    LISTENER,
    ROUTE,
    SECRET,
    BuildCache,
    ResourceSet,
    XdsResources,
)
from hatchway.xds.secrets import build_secrets
from hatchway.xds.settings import XdsSettings
from hatchway.xds.udp_weights import build_udp_weighted_cluster

# Built from the IR's listeners alone (UDP weighted clusters also read the IR's clusters).
_LISTENER_SIDE = (SECRET, LISTENER, ROUTE)


def build(
    ir: IR, settings: XdsSettings | None = None, cache: BuildCache | None = None
) -> XdsResources:
    """Translate the IR into xDS resources. Unchanged IR gives byte-identical resources.

    Pass the same `cache` to consecutive builds (a running gateway does) to reuse what
    did not change: Envoy routes per IR route, the whole listener side when the listeners
    are the same, serialized messages."""
    settings = settings or XdsSettings()
    previous = cache.begin(settings, ir.listeners) if cache is not None else None
    out = ResourceSet(cache)
    users = cache.users if previous is not None and cache is not None else _cluster_users(ir)
    for cluster in sorted(ir.clusters, key=lambda c: c.name):
        build_cluster(cluster, tuple(users.get(cluster.name, ())), out, settings)
    if previous is not None:
        out.adopt(previous, _LISTENER_SIDE)
    by_name = {c.name: c for c in ir.clusters}
    for listener in ir.listeners:
        if previous is None:
            build_secrets(listener, out)
            build_listener(listener, out, settings)
        if listener.protocol is Protocol.UDP:
            build_udp_weighted_cluster(listener, by_name, out)
    resources = out.freeze(cache.resources if cache is not None else None)
    if cache is not None:
        cache.end(ir.listeners, resources, users)
    return resources


def _cluster_users(ir: IR) -> dict[str, list[Origin]]:
    """Route (or L4 route) origins per cluster name, first-seen order."""
    # dict as an ordered set: one Service can back thousands of routes.
    users: dict[str, dict[Origin, None]] = {}

    def use(cluster: str | None, origin: Origin) -> None:
        if cluster is not None:
            users.setdefault(cluster, {})[origin] = None

    for listener in ir.listeners:
        for chain in listener.chains:
            if chain.l4 is not None:
                for b in chain.l4.backends:
                    use(b.cluster, chain.l4.origin)
            for vh in chain.virtual_hosts or ():
                for route in vh.routes:
                    if isinstance(route.action, Forward):
                        for b in route.action.backends:
                            use(b.cluster, route.origin)
                    for m in route.mirrors:
                        use(m.cluster, route.origin)
    return {name: list(origins) for name, origins in users.items()}
