"""Route-only changes translated incrementally: a changed HTTPRoute costs about one route.

When nothing but HTTPRoutes changed since the last translation, the result differs from the
last one only where the changed routes were or now are: their statuses, the attachedRoutes
counts of their listeners (so the Gateways' statuses), and the virtual hosts they add IR
routes to. `translate_delta` takes each removed route's part out of the state the last
translation left (`DeltaState`), puts each added route's part in (sorted insertion into the
virtual host's precedence order) and rebuilds only the virtual hosts, filter chains and
listeners that changed.

Anything that could reach further returns None, and the caller translates everything:
a change to any other kind of object or to the settings, a route that appears or leaves on a
listener with GRPCRoutes (HTTPRoute/GRPCRoute conflicts are cross-route) or on a TLS/TCP/UDP
socket, a hostname that adds or removes a virtual host, a cluster that starts or stops being
used by a Gateway, a route the data plane refused, BackendTLSPolicies in the snapshot, or
many changes at once. `tests/unit/test_translate_delta.py` checks results against full
translations.

Everything here is keyed by identity in the API sense — a route by (kind, namespace, name),
a listener by `ListenerCtx.key`, a socket by its name — and a route counts as unchanged only
while it is equal in value (`memo.same`); never by Python object identity.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field, replace

from hatchway.ir import IR, Cluster, Listener
from hatchway.model.refs import ObjectRef
from hatchway.model.routes import HTTPRoute
from hatchway.model.snapshot import KIND_FIELDS, Snapshot
from hatchway.status import ReportWarning, ResourceStatus, StatusReport
from hatchway.translate.attach import Parents, RouteCtx, attach
from hatchway.translate.backends import Backends
from hatchway.translate.gateway_status import ListenerOutcome, gateway_statuses
from hatchway.translate.gatewayctx import GatewayCtx, ListenerKey
from hatchway.translate.index import Index
from hatchway.translate.memo import (
    RouteEntry,
    TranslateMemo,
    attached_of,
    cached_route_status,
    same,
    same_all,
)
from hatchway.translate.routectx import compile_route, route_ctx
from hatchway.translate.rules import RuleInvalid
from hatchway.translate.settings import Settings, Translation
from hatchway.translate.vhosts import ClusterUse, HttpSocket, RoutePart, covering_patterns

# Every input but HTTPRoutes: the delta applies only while all of them are the same objects.
FIELDS = tuple(f for f in KIND_FIELDS if f != "http_routes")

# Past this many changed routes (or a tenth of all), translating everything is as cheap.
_MAX_CHANGES = 16


@dataclass(eq=False)
class DeltaState:
    """What a full translation leaves for the next route-only change (mutated by it)."""

    settings: Settings
    inputs: tuple[tuple[object, ...], ...]  # the FIELDS of the snapshot
    routes: tuple[HTTPRoute, ...]  # the HTTPRoutes translated, in snapshot order
    index: Index
    backends: Backends
    parents: Parents
    gateways: list[GatewayCtx]
    http_sockets: dict[str, HttpSocket]
    socket_of: dict[ListenerKey, list[HttpSocket]]  # the HTTP(S) sockets each listener is on
    listener_sockets: list[str]  # socket name per IR listener, in order
    listeners: list[Listener]
    clusters: tuple[Cluster, ...]
    # Listeners a change must not touch: on TLS/TCP/UDP sockets, or with GRPCRoutes.
    off_limits: frozenset[ListenerKey]
    parts: dict[ObjectRef, list[tuple[HttpSocket, RoutePart]]]  # each route's parts
    uses: Counter[ClusterUse]  # (cluster, Gateway) -> route parts using it
    status_keys: list[tuple[str, str, str, str]]
    statuses: list[ResourceStatus]  # sorted by key
    attached: Counter[ListenerKey]  # attachedRoutes per listener, kept up to date
    unavailable: dict[ListenerKey, tuple[str, str]]  # ports an older Gateway holds
    warnings: Counter[ReportWarning] = field(default_factory=Counter)  # by source count

    def remove_status(self, status: ResourceStatus) -> None:
        order = status.key.order
        i = bisect_left(self.status_keys, order)
        while i < len(self.statuses) and self.status_keys[i] == order:
            if same(self.statuses[i], status):
                del self.status_keys[i]
                del self.statuses[i]
                return
            i += 1
        raise LookupError(f"no status for {status.key.ref()}")

    def insert_status(self, status: ResourceStatus) -> None:
        order = status.key.order
        i = bisect_left(self.status_keys, order)
        self.status_keys.insert(i, order)
        self.statuses.insert(i, status)

    def replace_status(self, status: ResourceStatus) -> None:
        order = status.key.order
        i = bisect_left(self.status_keys, order)
        if i >= len(self.statuses) or self.status_keys[i] != order:
            raise LookupError(f"no status for {status.key.ref()}")
        self.statuses[i] = status


def _key(route: HTTPRoute) -> ObjectRef:
    return (route.kind, route.metadata.namespace, route.metadata.name)


def _sockets(st: DeltaState, listeners: set[ListenerKey]) -> list[HttpSocket]:
    out: dict[str, HttpSocket] = {}
    for lk in listeners:
        for hs in st.socket_of.get(lk, ()):
            out.setdefault(hs.sock.name, hs)
    return list(out.values())


def translate_delta(
    snapshot: Snapshot, settings: Settings, memo: TranslateMemo
) -> Translation | None:
    """The translation of `snapshot` from the last one when only HTTPRoutes changed, or None."""
    st: DeltaState | None = memo.delta
    if st is None or memo.last is None or settings != st.settings:
        return None
    for f, before in zip(FIELDS, st.inputs, strict=True):
        if not same_all(getattr(snapshot, f), before):
            return None
    current = snapshot.http_routes
    added, removed = _changed_routes(st.routes, current)
    if len(added) + len(removed) > max(_MAX_CHANGES, len(current) // 10):
        return None
    refused = settings.refused_routes
    if refused and any(_key(o) in refused for o in (*added, *removed)):
        return None
    plan = _plan(st, memo, added, removed)
    if plan is None:
        return None
    try:
        result = _apply(st, memo, settings, plan)
    except LookupError:
        # The state disagrees with itself (a bug): forget it, translate everything.
        memo.delta = None
        return None
    st.routes = current
    memo.delta_change = (tuple(added), tuple(removed))
    # Every route but the added ones was reused (the hit count the full path reports).
    kinds = ("grpc_routes", "tls_routes", "tcp_routes", "udp_routes")
    memo.hits = len(current) - len(added) + sum(len(getattr(snapshot, k)) for k in kinds)
    return result


def _changed_routes(
    old: tuple[HTTPRoute, ...], new: tuple[HTTPRoute, ...]
) -> tuple[list[HTTPRoute], list[HTTPRoute]]:
    """(added, removed): the routes of `new` not equal to one of `old` under their key, and
    the other way round. The lists are compared by value from both ends first (a change
    leaves the rest of the snapshot as it was), so only what lies between is looked up by
    key: a one-route change at 3,000 routes costs no key per route."""
    start, end_old, end_new = 0, len(old), len(new)
    shorter = min(end_old, end_new)
    while start < shorter and same(old[start], new[start]):
        start += 1
    while end_old > start and end_new > start and same(old[end_old - 1], new[end_new - 1]):
        end_old -= 1
        end_new -= 1
    before = {_key(o): o for o in old[start:end_old]}
    after = {_key(o): o for o in new[start:end_new]}
    added = [o for k, o in after.items() if not _same_route(before.get(k), o)]
    removed = [o for k, o in before.items() if not _same_route(after.get(k), o)]
    return added, removed


def _same_route(a: HTTPRoute | None, b: HTTPRoute) -> bool:
    return a is not None and same(a, b)


@dataclass
class _Plan:
    old: list[tuple[HTTPRoute, RouteEntry]]
    new: list[tuple[HTTPRoute, RouteCtx, RouteEntry, list[tuple[HttpSocket, RoutePart]]]]
    coming: list[tuple[HttpSocket, str]]  # domains the change adds
    going: list[tuple[HttpSocket, str]]  # domains the change removes


def _plan(
    st: DeltaState, memo: TranslateMemo, added: list[HTTPRoute], removed: list[HTTPRoute]
) -> _Plan | None:
    """The changed routes and their parts, if the change stays within what a delta handles.
    Changes nothing but the memo's caches."""
    old: list[tuple[HTTPRoute, RouteEntry]] = []
    for obj in removed:
        entry = memo.routes.get(_key(obj))
        if entry is None or not same(entry.obj, obj):
            return None
        if not st.off_limits.isdisjoint(entry.listeners):
            return None
        old.append((obj, entry))
    fresh: list[tuple[HTTPRoute, RouteCtx, RouteEntry, list[HttpSocket]]] = []
    for obj in added:
        try:
            compiled = compile_route(obj, st.backends)
            ctx = route_ctx(obj, compiled)
            attach(st.index, st.parents, ctx)
        except (RuleInvalid, ValueError, KeyError, TypeError, AttributeError, IndexError):
            return None  # the full translation reports it
        listeners = ctx.accepted_listeners()
        if not st.off_limits.isdisjoint(listeners):
            return None
        entry = RouteEntry(obj, compiled, listeners=frozenset(listeners))
        fresh.append((obj, ctx, entry, _sockets(st, listeners)))
    # Hostnames per socket: a domain that comes or goes changes only the changed routes'
    # parts when no other route reaches it (through a wildcard covering it).
    hosts: dict[str, Counter[str]] = {}
    for obj, _ in old:
        for hs, part in st.parts.get(_key(obj), ()):
            hosts.setdefault(hs.sock.name, Counter()).subtract(part.hosts)
    for _, ctx, _, sockets in fresh:
        for hs in sockets:
            hosts.setdefault(hs.sock.name, Counter()).update(hs.hosts(ctx))
    coming: list[tuple[HttpSocket, str]] = []
    going: list[tuple[HttpSocket, str]] = []
    for hs in st.http_sockets.values():
        for host, n in hosts.get(hs.sock.name, Counter()).items():
            count = hs.domains.get(host, 0)
            if host in hs.owners or (count > 0) == (count + n > 0):
                continue
            if any(hs.domains.get(p, 0) > 0 for p in covering_patterns(host)[1:]):
                return None  # routes with a wildcard hostname reach it too
            (coming if n > 0 else going).append((hs, host))
    new: list[tuple[HTTPRoute, RouteCtx, RouteEntry, list[tuple[HttpSocket, RoutePart]]]] = []
    for obj, ctx, entry, sockets in fresh:
        parts = []
        for hs in sockets:
            extra = [d for s, d in coming if s.sock.name == hs.sock.name]
            parts.append((hs, hs.part(ctx, extra)))
        new.append((obj, ctx, entry, parts))
    for hs, host in going:
        vs = hs.vhosts.get(host)
        if vs is None:
            continue
        leaving = sum(
            len(part.entries.get(host, ()))
            for o, _ in old
            for s, part in st.parts.get(_key(o), ())
            if s.sock.name == hs.sock.name
        )
        if leaving != len(vs.keys) or any(host in p.entries for *_, ps in new for _, p in ps):
            return None  # other routes' matches would go with it
    # The clusters each Gateway uses must stay as they are (that reaches other objects).
    uses: Counter[ClusterUse] = Counter()
    for obj, _ in old:
        for _, part in st.parts.get(_key(obj), ()):
            uses.subtract(part.clusters)
    for *_, parts in new:
        for _, part in parts:
            uses.update(part.clusters)
    for use, n in uses.items():
        if (st.uses.get(use, 0) > 0) != (st.uses.get(use, 0) + n > 0):
            return None
    return _Plan(old, new, coming, going)


def _apply(st: DeltaState, memo: TranslateMemo, settings: Settings, plan: _Plan) -> Translation:
    changed: dict[tuple[str, str], tuple[HttpSocket, str]] = {}  # (socket, domain)
    for obj, entry in plan.old:
        for hs, part in st.parts.pop(_key(obj), ()):
            _file(st, hs, part, changed, adding=False)
        st.attached.subtract(entry.listeners)
        if entry.status is not None:
            st.remove_status(entry.status)
        del memo.routes[_key(obj)]
    for hs, host in plan.going:
        gone = hs.drop_domain(host)
        if gone is not None:
            st.warnings.subtract(gone.shadowed)
            changed.pop((hs.sock.name, host), None)
            changed[(hs.sock.name, "")] = (hs, "")  # the socket's list of virtual hosts changed
    for hs, host in plan.coming:
        if hs.add_domain(host) is not None:
            changed[(hs.sock.name, host)] = (hs, host)
    for hs, _ in (*plan.going, *plan.coming):
        hs.sort_vhosts()
    for obj, ctx, entry, parts in plan.new:
        for hs, part in parts:
            _file(st, hs, part, changed, adding=True)
        if parts:
            st.parts[_key(obj)] = parts
        st.attached.update(entry.listeners)
        entry.attached = attached_of(ctx)
        entry.attach_version = memo.parents_version
        status = cached_route_status(ctx, entry, settings.controller_name)
        if status is not None:
            st.insert_status(status)
        memo.routes[_key(obj)] = entry
    _rebuild(st, settings, changed)
    outcome = ListenerOutcome(+st.attached, st.unavailable)
    for status in gateway_statuses(st.gateways, outcome):
        st.replace_status(status)
    report = StatusReport(
        resources=tuple(st.statuses),
        warnings=tuple(sorted(w for w, n in st.warnings.items() if n > 0)),
    )
    return Translation(report, IR(listeners=tuple(st.listeners), clusters=st.clusters))


def _rebuild(
    st: DeltaState, settings: Settings, changed: dict[tuple[str, str], tuple[HttpSocket, str]]
) -> None:
    """The changed virtual hosts, and the IR listeners of their sockets, built again."""
    sockets: dict[str, HttpSocket] = {}
    for hs, domain in changed.values():
        sockets[hs.sock.name] = hs
        if not domain:
            continue
        vs = hs.vhosts[domain]
        st.warnings.subtract(vs.shadowed)
        hs.build_vhost(vs, settings.detect_shadowed)
        st.warnings.update(vs.shadowed)
    for hs in sockets.values():
        if hs.sock.name not in st.listener_sockets:
            continue  # the socket serves nothing (e.g. HTTPS without a usable certificate)
        i = st.listener_sockets.index(hs.sock.name)
        vhosts = hs.virtual_hosts()
        listener = st.listeners[i]
        chains = tuple(replace(c, virtual_hosts=vhosts) for c in listener.chains)
        st.listeners[i] = replace(listener, chains=chains)


def _file(
    st: DeltaState,
    hs: HttpSocket,
    part: RoutePart,
    changed: dict[tuple[str, str], tuple[HttpSocket, str]],
    *,
    adding: bool,
) -> None:
    """Put `part` into the socket's virtual hosts and counts, or take it out."""
    for domain, entries in part.entries.items():
        vs = hs.vhosts[domain]
        for e in entries:
            if adding:
                vs.insert(e)
            else:
                vs.remove(e)
        changed[(hs.sock.name, domain)] = (hs, domain)
    if adding:
        hs.domains.update(part.hosts)
        st.uses.update(part.clusters)
        st.warnings.update(part.warnings)
    else:
        hs.domains.subtract(part.hosts)
        st.uses.subtract(part.clusters)
        st.warnings.subtract(part.warnings)
