"""A data plane's verdict on a generation, applied to the typed report: `Programmed` as the
data plane really has it.

The core writes `Programmed: True` for what it could translate; whether the data plane
accepted it is only known later, at the edge, which hands its verdict here. A rejected xDS
resource names the Gateway API objects it was built from (its origins): a Gateway or
ListenerSet origin (and its listener) is marked directly, a route's is followed to the
Gateways its status says it is attached to.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from hatchway.ir import Origin
from hatchway.model.refs import ObjectRef
from hatchway.status.conditions import Condition, ConditionStatus
from hatchway.status.report import (
    GatewayStatus,
    ListenerSetStatus,
    ListenerStatus,
    ResourceStatus,
    RouteStatus,
    StatusReport,
)

GATEWAY_KINDS = frozenset({"Gateway", "ListenerSet"})
PROGRAMMED = "Programmed"
# Several rejections blamed on one Gateway are joined into one condition message.
CONDITION_MESSAGE_LIMIT = 1500


@dataclass(frozen=True)
class Rejected:
    """One resource the data plane rejected: why (already in words), and what it came from."""

    message: str
    origins: tuple[Origin, ...]


@dataclass(frozen=True)
class Verdict:
    """What one data plane said about the newest generation. Neither pending nor rejected:
    it runs it (nothing to change). `served`: the Gateways and ListenerSets it serves (None:
    all of them, the one data plane of `serve`)."""

    pending: str | None = None  # not answered yet: why
    rejected: tuple[Rejected, ...] = ()
    served: frozenset[ObjectRef] | None = None

    @property
    def accepted(self) -> bool:
        return self.pending is None and not self.rejected


def apply_verdicts(report: StatusReport, verdicts: Iterable[Verdict]) -> StatusReport:
    """`report` with each verdict in the `Programmed` conditions of the Gateways and
    ListenerSets (and their listeners) it concerns; the same report when every data plane
    runs what it was given."""
    for verdict in verdicts:
        if not verdict.accepted:
            report = _apply(report, verdict)
    return report


def _apply(report: StatusReport, verdict: Verdict) -> StatusReport:
    if verdict.pending is not None:
        blame = _pending(report, verdict)
    else:
        blame = _blame(report, verdict.rejected)
    if not blame:
        return report
    changed = [_marked(r, blame[ref]) if (ref := _ref(r)) in blame else r for r in report.resources]
    return dataclasses.replace(report, resources=tuple(changed))


# Gateway -> listener name (None: the Gateway as a whole) -> (reason, messages).
Blame = dict[ObjectRef, dict[str | None, tuple[str, list[str]]]]


def _ref(r: ResourceStatus) -> ObjectRef:
    return (r.key.kind, r.key.namespace or "", r.key.name)


def _pending(report: StatusReport, verdict: Verdict) -> Blame:
    message = f"Waiting for Envoy: {verdict.pending}"
    blame: Blame = {}
    for r in report.resources:
        ref = _ref(r)
        if r.key.kind in GATEWAY_KINDS and (verdict.served is None or ref in verdict.served):
            listeners = r.status.listeners if isinstance(r.status, _GATEWAYS) else ()
            parts: dict[str | None, tuple[str, list[str]]] = {None: ("Pending", [message])}
            parts.update({ls.name: ("Pending", [message]) for ls in listeners})
            blame[ref] = parts
    return blame


def _blame(report: StatusReport, rejected: Iterable[Rejected]) -> Blame:
    parents = {
        _ref(r): _route_parents(r.key.namespace or "", r.status)
        for r in report.resources
        if isinstance(r.status, RouteStatus)
    }
    blame: Blame = {}

    def add(gateway: ObjectRef, section: str | None, message: str) -> None:
        for where in (None, section) if section is not None else (None,):
            messages = blame.setdefault(gateway, {}).setdefault(where, ("Invalid", []))[1]
            if message not in messages:
                messages.append(message)

    for rej in rejected:
        for o in rej.origins:
            if o.kind in GATEWAY_KINDS:
                add((o.kind, o.namespace, o.name), o.section, rej.message)
                continue
            for gateway, section in parents.get((o.kind, o.namespace, o.name), ()):
                add(gateway, section, rej.message)
    return blame


def _route_parents(namespace: str, status: RouteStatus) -> list[tuple[ObjectRef, str | None]]:
    return [
        (
            (p.parent_ref.kind, p.parent_ref.namespace or namespace, p.parent_ref.name),
            p.parent_ref.section_name,
        )
        for p in status.parents
        if p.parent_ref.kind in GATEWAY_KINDS
    ]


_GATEWAYS = (GatewayStatus, ListenerSetStatus)


def _marked(r: ResourceStatus, parts: dict[str | None, tuple[str, list[str]]]) -> ResourceStatus:
    status = r.status
    if not isinstance(status, _GATEWAYS):
        return r
    listeners = tuple(
        _listener(ls, parts[ls.name]) if ls.name in parts else ls for ls in status.listeners
    )
    whole = parts.get(None)
    conditions = _programmed(status.conditions, *whole) if whole else status.conditions
    return dataclasses.replace(
        r, status=dataclasses.replace(status, conditions=conditions, listeners=listeners)
    )


def _listener(ls: ListenerStatus, part: tuple[str, list[str]]) -> ListenerStatus:
    return dataclasses.replace(ls, conditions=_programmed(ls.conditions, *part))


def _programmed(
    conditions: tuple[Condition, ...], reason: str, messages: list[str]
) -> tuple[Condition, ...]:
    """Programmed set False with `reason`. A pending verdict changes only a True one (a
    Gateway the core already found unprogrammed says why itself)."""
    message = _joined(messages)
    return tuple(
        dataclasses.replace(c, status=ConditionStatus.FALSE, reason=reason, message=message)
        if c.type == PROGRAMMED and (reason != "Pending" or c.is_true)
        else c
        for c in conditions
    )


def _joined(messages: list[str]) -> str:
    text = "; ".join(dict.fromkeys(messages))
    limit = CONDITION_MESSAGE_LIMIT
    return text if len(text) <= limit else f"{text[:limit]}…({len(text) - limit} more)"
