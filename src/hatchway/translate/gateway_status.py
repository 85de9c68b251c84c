"""Gateway, listener and ListenerSet statuses, written once the routes are attached.

The listener contexts say what `build_gateways` decided; `ListenerOutcome` adds what later
passes found (routes attached to each listener, ports held by another Gateway), keyed by
`ListenerCtx.key`, so the contexts themselves stay as built.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from hatchway.model.meta import GATEWAY_GROUP
from hatchway.status import (
    Condition,
    GatewayAddress,
    GatewayConditionReason,
    GatewayConditionType,
    GatewayStatus,
    ListenerConditionReason,
    ListenerConditionType,
    ListenerSetConditionReason,
    ListenerSetConditionType,
    ListenerSetStatus,
    ListenerStatus,
    ResourceKey,
    ResourceStatus,
    RouteGroupKind,
    condition,
)
from hatchway.translate.addresses import Addresses
from hatchway.translate.gatewayctx import (
    GW_API,
    GatewayCtx,
    ListenerCtx,
    ListenerKey,
    ListenerSetCtx,
)


@dataclass(frozen=True)
class ListenerOutcome:
    """What happened to listeners after they were built."""

    # Routes attached per listener (each route once per listener: attachedRoutes).
    attached: Mapping[ListenerKey, int] = field(default_factory=dict)
    # Listeners whose address and port another Gateway holds: (reason, message).
    unavailable: Mapping[ListenerKey, tuple[str, str]] = field(default_factory=dict)

    def rejection(self, lc: ListenerCtx) -> tuple[str, str] | None:
        """Why `lc` is not accepted: its own reason, or the port problem assembly found."""
        return lc.rejected or self.unavailable.get(lc.key)

    def is_ready(self, lc: ListenerCtx) -> bool:
        return lc.is_ready and lc.key not in self.unavailable

    def can_serve(self, lc: ListenerCtx) -> bool:
        return lc.can_serve and lc.key not in self.unavailable


def attached_counts(parents: Iterable[Iterable[ListenerKey]]) -> dict[ListenerKey, int]:
    """attachedRoutes per listener: each route's accepted listeners, counted once per route."""
    out: dict[ListenerKey, int] = {}
    for listeners in parents:
        for key in set(listeners):
            out[key] = out.get(key, 0) + 1
    return out


def _listener_status(
    lc: ListenerCtx, for_listener_set: bool, out: ListenerOutcome
) -> ListenerStatus:
    gen = lc.generation
    rejected = out.rejection(lc)
    T = ListenerConditionType
    R = ListenerConditionReason
    conds: list[Condition] = []
    kinds = lc.kinds
    if lc.conflict is not None:
        reason = lc.conflict
        if for_listener_set:
            msg = "conflicts with an earlier listener on the same port"
        else:
            msg = "conflicts with another listener on the same port"
        conds.append(condition(T.ACCEPTED, False, reason, msg, gen))
        conds.append(condition(T.PROGRAMMED, False, reason, msg, gen))
    elif rejected is not None:
        if rejected[0] == R.UNSUPPORTED_PROTOCOL:
            kinds = ()
        conds.append(condition(T.ACCEPTED, False, rejected[0], rejected[1], gen))
        prog = lc.programmed or (R.INVALID, rejected[1])
        conds.append(condition(T.PROGRAMMED, False, prog[0], prog[1], gen))
    else:
        conds.append(condition(T.ACCEPTED, True, R.ACCEPTED, "Listener is accepted", gen))
        if lc.gateway.rejected is not None:
            conds.append(condition(T.PROGRAMMED, False, R.INVALID, "Gateway is not accepted", gen))
        elif lc.programmed is not None:
            conds.append(condition(T.PROGRAMMED, False, lc.programmed[0], lc.programmed[1], gen))
        else:
            conds.append(condition(T.PROGRAMMED, True, R.PROGRAMMED, "Listener is programmed", gen))
    if lc.resolved is not None:
        conds.append(condition(T.RESOLVED_REFS, False, lc.resolved[0], lc.resolved[1], gen))
    else:
        conds.append(
            condition(T.RESOLVED_REFS, True, R.RESOLVED_REFS, "All references resolved", gen)
        )
    if lc.conflict is not None:
        conds.append(condition(T.CONFLICTED, True, lc.conflict, "Listener conflicts", gen))
    else:
        conds.append(condition(T.CONFLICTED, False, R.NO_CONFLICTS, "No conflicts", gen))
    if lc.overlapping:
        conds.append(
            condition(
                T.OVERLAPPING_TLS_CONFIG,
                True,
                R.OVERLAPPING_HOSTNAMES,
                "hostname overlaps another TLS listener on the same port",
                gen,
            )
        )
    return ListenerStatus(
        lc.name,
        tuple(RouteGroupKind(GATEWAY_GROUP, k) for k in kinds),
        out.attached.get(lc.key, 0),
        tuple(conds),
    )


def gateway_statuses(gateways: list[GatewayCtx], found: ListenerOutcome) -> list[ResourceStatus]:
    out: list[ResourceStatus] = []
    T, R = GatewayConditionType, GatewayConditionReason
    for gw in gateways:
        gen = gw.obj.metadata.generation
        conds: list[Condition] = []
        own_ok = [found.is_ready(lc) for lc in gw.listeners]
        if gw.rejected is not None:
            accepted = condition(T.ACCEPTED, False, gw.rejected[0], gw.rejected[1], gen)
        elif not any(own_ok):
            accepted = condition(
                T.ACCEPTED, False, R.LISTENERS_NOT_VALID, "No listener is valid", gen
            )
        elif not all(own_ok):
            accepted = condition(
                T.ACCEPTED, True, R.LISTENERS_NOT_VALID, "Some listeners are not valid", gen
            )
        else:
            accepted = condition(T.ACCEPTED, True, R.ACCEPTED, "Gateway is accepted", gen)
        conds.append(accepted)
        if not accepted.is_true:
            conds.append(condition(T.PROGRAMMED, False, R.INVALID, accepted.message, gen))
        elif gw.programmed is not None:
            conds.append(condition(T.PROGRAMMED, False, gw.programmed[0], gw.programmed[1], gen))
        else:
            conds.append(condition(T.PROGRAMMED, True, R.PROGRAMMED, "Gateway is programmed", gen))
        if gw.resolved is not None:
            conds.append(condition(T.RESOLVED_REFS, False, gw.resolved[0], gw.resolved[1], gen))
        elif any(lc.resolved is not None for lc in gw.listeners):
            conds.append(
                condition(
                    T.RESOLVED_REFS,
                    False,
                    R.LISTENERS_NOT_RESOLVED,
                    "Some listeners have unresolved references",
                    gen,
                )
            )
        else:
            conds.append(
                condition(T.RESOLVED_REFS, True, R.RESOLVED_REFS, "All references resolved", gen)
            )
        if gw.insecure_frontend:
            conds.append(
                condition(
                    T.INSECURE_FRONTEND_VALIDATION_MODE,
                    True,
                    R.CONFIGURATION_CHANGED,
                    "client certificate validation allows insecure fallback",
                    gen,
                )
            )
        attached_sets = None
        if gw.obj.spec.allowed_listeners is not None or gw.listener_sets:
            attached_sets = sum(1 for s in gw.listener_sets if _final_rejection(s, found) is None)
        if gw.address_outcome is not None:
            conds.append(_addresses_assigned(gw.address_outcome, gen))
        addresses = tuple(
            GatewayAddress(a.type, a.value, a.routability)
            for a in (gw.address_outcome.assigned if gw.address_outcome else ())
        )
        out.append(
            ResourceStatus(
                ResourceKey(GW_API, "Gateway", gw.namespace, gw.name),
                gen,
                GatewayStatus(
                    tuple(conds),
                    tuple(_listener_status(lc, False, found) for lc in gw.listeners),
                    addresses if accepted.is_true else (),
                    attached_sets,
                ),
            )
        )
        for lsc in gw.listener_sets:
            out.append(_listener_set_status(lsc, found))
    return out


def _addresses_assigned(out: Addresses, gen: int) -> Condition:
    """GEP-5093 `AddressesAssigned`: every entry satisfied, some, or none."""
    T, R = GatewayConditionType, GatewayConditionReason
    if not out.unsatisfied:
        return condition(
            T.ADDRESSES_ASSIGNED, True, R.ADDRESSES_ASSIGNED, "All addresses assigned", gen
        )
    # One message per unsatisfied entry; a load balancer's own addresses do not count.
    reason = R.PARTIALLY_ASSIGNED if out.requested > len(out.unsatisfied) else R.NOT_ASSIGNED
    return condition(T.ADDRESSES_ASSIGNED, False, reason, "; ".join(out.unsatisfied), gen)


def _final_rejection(lsc: ListenerSetCtx, found: ListenerOutcome) -> tuple[str, str] | None:
    """`lsc.rejected`, or ListenersNotValid when assembly took the last listener away."""
    if lsc.rejected is None and not any(found.can_serve(lc) for lc in lsc.listeners):
        return (
            ListenerSetConditionReason.LISTENERS_NOT_VALID,
            "no listener of this ListenerSet is valid",
        )
    return lsc.rejected


def _listener_set_status(lsc: ListenerSetCtx, found: ListenerOutcome) -> ResourceStatus:
    gen = lsc.obj.metadata.generation
    T, R = ListenerSetConditionType, ListenerSetConditionReason
    rejected = _final_rejection(lsc, found)
    if rejected is not None:
        reason, msg = rejected
        # §9.4: ParentNotAccepted is an Accepted reason; Programmed says ParentNotProgrammed.
        programmed = R.PARENT_NOT_PROGRAMMED if reason == R.PARENT_NOT_ACCEPTED else reason
        conds = (
            condition(T.ACCEPTED, False, reason, msg, gen),
            condition(T.PROGRAMMED, False, programmed, msg, gen),
        )
        listeners: tuple[ListenerStatus, ...] = ()
        if reason == R.LISTENERS_NOT_VALID:
            listeners = tuple(_listener_status(lc, True, found) for lc in lsc.listeners)
    else:
        partial = not all(found.can_serve(lc) for lc in lsc.listeners)
        conds = (
            condition(
                T.ACCEPTED,
                True,
                R.LISTENERS_NOT_VALID if partial else R.ACCEPTED,
                "Some listeners are not valid" if partial else "ListenerSet is accepted",
                gen,
            ),
            condition(T.PROGRAMMED, True, R.PROGRAMMED, "ListenerSet is programmed", gen),
        )
        listeners = tuple(_listener_status(lc, True, found) for lc in lsc.listeners)
    return ResourceStatus(
        ResourceKey(GW_API, "ListenerSet", lsc.obj.metadata.namespace, lsc.obj.metadata.name),
        gen,
        ListenerSetStatus(conds, listeners),
    )
