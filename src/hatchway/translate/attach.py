"""Route attachment to Gateway/ListenerSet listeners per parentRef (§3) and route status."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hatchway.model.meta import GATEWAY_GROUP, ParentReference
from hatchway.model.refs import ObjectRef
from hatchway.status import (
    Condition,
    ParentRef,
    ResourceKey,
    ResourceStatus,
    RouteConditionReason,
    RouteConditionType,
    RouteParentStatus,
    RouteStatus,
    condition,
)
from hatchway.translate.backends import Problem
from hatchway.translate.gatewayctx import GatewayCtx, ListenerCtx, ListenerKey, ListenerSetCtx
from hatchway.translate.hostnames import effective_hostnames
from hatchway.translate.index import Index
from hatchway.translate.rules import CompiledRoute

R = RouteConditionReason
HOSTNAME_KINDS = ("HTTPRoute", "GRPCRoute", "TLSRoute")


@dataclass(eq=False)
class Attachment:
    listener: ListenerCtx
    hostnames: tuple[str, ...]  # effective (intersected) hostnames; ("*",) = any
    route: RouteCtx


@dataclass(eq=False)
class ParentCtx:
    ref: ParentReference
    attachments: list[Attachment] = field(default_factory=list)
    rejected: Problem | None = None


@dataclass(eq=False)
class RouteCtx:
    kind: str
    api_version: str
    namespace: str
    name: str
    generation: int
    created: datetime
    hostnames: tuple[str, ...]
    parent_refs: tuple[ParentReference, ...]
    compiled: CompiledRoute
    parents: list[ParentCtx] = field(default_factory=list)

    @property
    def order(self) -> tuple[datetime, str, str]:
        """Age, then `namespace/name`: how the spec breaks ties between routes."""
        return (self.created, self.namespace, self.name)

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"

    @property
    def key(self) -> ObjectRef:
        return (self.kind, self.namespace, self.name)

    def accepted_listeners(self) -> set[ListenerKey]:
        """The listeners it is attached to through accepted parentRefs (attachedRoutes)."""
        return {
            att.listener.key for pc in self.parents if pc.rejected is None for att in pc.attachments
        }

    @property
    def fully_invalid(self) -> bool:
        return not self.compiled.rules and bool(self.compiled.dropped)


class Parents:
    """Gateways and ListenerSets we own, by (namespace, name)."""

    def __init__(self, gateways: list[GatewayCtx]) -> None:
        self.gateways = {(g.namespace, g.name): g for g in gateways}
        self.sets: dict[tuple[str, str], ListenerSetCtx] = {}
        for g in gateways:
            for s in g.listener_sets:
                self.sets[(s.obj.metadata.namespace, s.obj.metadata.name)] = s


def _candidates(
    parents: Parents, route: RouteCtx, ref: ParentReference
) -> tuple[list[ListenerCtx], str] | None:
    """Listeners the parentRef names (and why there are none), None when the parent is not ours.

    A parent that is ours but not accepted offers no listener: the spec names no reason for
    that, and NoMatchingParent ("no matching parent") is the closest; the message says why.
    """
    if ref.group != GATEWAY_GROUP:
        return None
    ns = ref.namespace or route.namespace
    if ref.kind == "Gateway":
        gw = parents.gateways.get((ns, ref.name))
        if gw is None:
            return None
        if gw.rejected is not None:
            return [], f"the parent Gateway is not accepted ({gw.rejected[0]})"
        listeners = gw.listeners
    elif ref.kind == "ListenerSet":
        ls = parents.sets.get((ns, ref.name))
        if ls is None:
            return None
        if ls.rejected is not None:
            return [], f"the parent ListenerSet is not accepted ({ls.rejected[0]})"
        listeners = ls.listeners
    else:
        return None
    matching = [
        lc
        for lc in listeners
        if (ref.section_name is None or lc.name == ref.section_name)
        and (ref.port is None or lc.port == ref.port)
    ]
    return matching, "no listener matches the parentRef's sectionName/port"


def attach(index: Index, parents: Parents, route: RouteCtx) -> None:
    """Fill `route.parents` with per-parentRef attachments or the rejection reason (§3.2)."""
    # Each distinct parentRef once, in order; most routes have one, and hashing a model
    # (every field, in Python) is not free.
    refs = route.parent_refs
    for ref in refs if len(refs) < 2 else dict.fromkeys(refs):
        found = _candidates(parents, route, ref)
        if found is None:
            continue  # not our parent: write nothing
        listeners, none_reason = found
        pc = ParentCtx(ref)
        route.parents.append(pc)
        if route.fully_invalid:
            reason, msg = route.compiled.dropped[0][1], route.compiled.dropped[0][2]
            pc.rejected = (reason, msg)
            continue
        if not listeners:
            pc.rejected = (R.NO_MATCHING_PARENT, none_reason)
            continue
        # Attachment is decided by allowedRoutes and parentRefs alone: "Listener or Route
        # status does not impact successful attachment" (ListenerStatus.attachedRoutes). A
        # route on a Conflicted (or PortUnavailable) listener is Accepted and counted there,
        # as Envoy Gateway does too; the listener's own status says it is not programmed, and
        # nothing of it reaches Envoy (assembly skips listeners that are not ready).
        allowed = [
            lc
            for lc in listeners
            if route.kind in lc.kinds and lc.allows_namespace(index, route.namespace)
        ]
        if not allowed:
            kind_ok = [lc for lc in listeners if route.kind in lc.kinds]
            if kind_ok:
                msg = f"no listener allows routes from namespace {route.namespace}"
                msg += "".join(
                    f"; listener {lc.name}: {lc.selector_problem}"
                    for lc in kind_ok
                    if lc.selector_problem is not None
                )
            else:
                msg = f"no listener accepts the {route.kind} kind"
            pc.rejected = (R.NOT_ALLOWED_BY_LISTENERS, msg)
            continue
        for lc in allowed:
            if route.kind in HOSTNAME_KINDS:
                hosts = effective_hostnames(lc.hostname, route.hostnames)
                if not hosts:
                    continue
            else:
                hosts = ("*",)
            pc.attachments.append(Attachment(lc, hosts, route))
        if not pc.attachments:
            pc.rejected = (
                R.NO_MATCHING_LISTENER_HOSTNAME,
                "no listener hostname intersects the route's hostnames",
            )


def resolve_http_grpc_conflicts(routes: list[RouteCtx]) -> None:
    """HTTPRoute vs GRPCRoute with intersecting hostnames on one listener: the older wins (§3.3)."""
    if not {"HTTPRoute", "GRPCRoute"} <= {r.kind for r in routes}:
        return  # a clash needs both kinds; most configurations have one
    by_listener: dict[ListenerKey, list[Attachment]] = {}
    for route in routes:
        if route.kind not in ("HTTPRoute", "GRPCRoute"):
            continue
        for pc in route.parents:
            for att in pc.attachments:
                by_listener.setdefault(att.listener.key, []).append(att)
    # An attachment is (route, listener); a route's attachments to one listener share a verdict.
    losers: set[tuple[ObjectRef, ListenerKey]] = set()
    for atts in by_listener.values():
        kinds = {a.route.kind for a in atts}
        if len(kinds) < 2:
            continue
        ordered = sorted(atts, key=lambda a: a.route.order)
        kept: list[Attachment] = []
        for att in ordered:
            clash = any(
                k.route.kind != att.route.kind
                and any(effective_hostnames(h, [g]) for h in att.hostnames for g in k.hostnames)
                for k in kept
            )
            if clash:
                losers.add((att.route.key, att.listener.key))
            else:
                kept.append(att)
    if not losers:
        return
    for route in routes:
        for pc in route.parents:
            before = len(pc.attachments)
            pc.attachments = [
                a for a in pc.attachments if (route.key, a.listener.key) not in losers
            ]
            if before and not pc.attachments and pc.rejected is None:
                pc.rejected = (
                    R.NOT_ALLOWED_BY_LISTENERS,
                    "an older route of the other kind (HTTPRoute/GRPCRoute) owns these "
                    "hostnames on the listener",
                )


def _status_ref(ref: ParentReference) -> ParentRef:
    return ParentRef(
        group=ref.group,
        kind=ref.kind,
        name=ref.name,
        namespace=ref.namespace,
        section_name=ref.section_name,
        port=ref.port,
    )


def route_status(route: RouteCtx, controller: str) -> ResourceStatus | None:
    if not route.parents:
        return None
    gen = route.generation
    T = RouteConditionType
    # ResolvedRefs and PartiallyInvalid are the route's own: built once, shared by parents.
    unresolved, dropped = route.compiled.unresolved, route.compiled.dropped
    if unresolved is not None:
        resolved = condition(T.RESOLVED_REFS, False, unresolved[0], unresolved[1], gen)
    else:
        resolved = condition(T.RESOLVED_REFS, True, R.RESOLVED_REFS, "All references resolved", gen)
    partial: tuple[Condition, ...] = ()
    if dropped:
        msg = "; ".join(f"Dropped Rule {i}: {m}" for i, _, m in dropped)
        partial = (condition(T.PARTIALLY_INVALID, True, dropped[0][1], msg, gen),)
    parents: list[RouteParentStatus] = []
    for pc in route.parents:
        conds: tuple[Condition, ...]
        if pc.rejected is not None:
            rejected = condition(T.ACCEPTED, False, pc.rejected[0], pc.rejected[1], gen)
            conds = (rejected, resolved)
        else:
            accepted = condition(T.ACCEPTED, True, R.ACCEPTED, "Route is accepted", gen)
            conds = (accepted, resolved, *partial)
        parents.append(RouteParentStatus(_status_ref(pc.ref), controller, conds))
    return ResourceStatus(
        ResourceKey(route.api_version, route.kind, route.namespace, route.name),
        gen,
        RouteStatus(tuple(parents)),
    )
