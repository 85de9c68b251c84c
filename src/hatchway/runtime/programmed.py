"""Envoy's verdict on a generation, written into status: `Programmed` as Envoy really has it.

The core writes `Programmed: True` for what it could translate; whether Envoy accepted it is
only known here. A rejected xDS resource is mapped back, through the origins `xds.build`
recorded, to the Gateways (and listeners) it came from; routes and Services in the origins
lead to the Gateways they attach to.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from hatchway.ads.verdict import AckState, Outcome, Rejection, clip, describe
from hatchway.ir import Origin

GATEWAY_KINDS = frozenset({"Gateway", "ListenerSet"})
ObjKey = tuple[str, str | None, str]  # (kind, namespace, name)
Origins = Mapping[tuple[str, str], tuple[Origin, ...]]


def _key(res: dict[str, Any]) -> ObjKey:
    meta = res.get("metadata", {})
    return (str(res.get("kind")), meta.get("namespace"), str(meta.get("name")))


# Several rejections blamed on one Gateway are joined into one condition message.
CONDITION_MESSAGE_LIMIT = 1500


def blamed_objects(rej: Rejection, origins: Origins) -> list[str]:
    """The Gateway API objects behind a rejected resource, as `Kind/ns/name` refs."""
    seen: list[str] = []
    for o in origins.get((rej.type_url, rej.name), ()):
        ref = f"{o.kind}/{o.namespace}/{o.name}"
        if ref not in seen:
            seen.append(ref)
    return seen


def _route_parents(res: dict[str, Any]) -> Iterator[tuple[ObjKey, str | None]]:
    ns = res.get("metadata", {}).get("namespace")
    for parent in res.get("status", {}).get("parents", []):
        ref = parent.get("parentRef", {})
        kind = ref.get("kind", "Gateway")
        if kind in GATEWAY_KINDS:
            yield (kind, ref.get("namespace", ns), ref.get("name")), ref.get("sectionName")


def _gateway_blame(
    rejected: Iterable[Rejection], origins: Origins, resources: list[dict[str, Any]]
) -> dict[ObjKey, dict[str | None, list[str]]]:
    """Gateway key -> listener name (None: the Gateway as a whole) -> messages."""
    by_key = {_key(r): r for r in resources}
    blame: dict[ObjKey, dict[str | None, list[str]]] = {}

    def add(gw: ObjKey, section: str | None, message: str) -> None:
        msgs = blame.setdefault(gw, {}).setdefault(section, [])
        if message not in msgs:
            msgs.append(message)

    for rej in rejected:
        message = describe(rej)
        for o in origins.get((rej.type_url, rej.name), ()):
            if o.kind in GATEWAY_KINDS:
                add((o.kind, o.namespace, o.name), o.section, message)
                continue
            route = by_key.get((o.kind, o.namespace, o.name))
            if route is not None:
                for gw, section in _route_parents(route):
                    add(gw, section, message)
    return blame


def _set_programmed(conditions: list[dict[str, Any]], reason: str, message: str) -> None:
    for c in conditions:
        if c.get("type") == "Programmed":
            c["status"] = "False"
            c["reason"] = reason
            c["message"] = message


def apply_outcome(
    resources: list[dict[str, Any]],
    outcome: Outcome,
    origins: Origins,
    served: Callable[[ObjKey], bool] | None = None,
) -> list[dict[str, Any]]:
    """A copy of the status dicts with Programmed reflecting Envoy's state, for the Gateways
    (and ListenerSets) the data plane that gave `outcome` serves (`served`; default: all)."""
    if outcome.state is AckState.ACKED:
        return resources
    out = copy.deepcopy(resources)
    if outcome.state is AckState.PENDING:
        message = f"Waiting for Envoy: {outcome.reason}"
        for res in out:
            if res.get("kind") in GATEWAY_KINDS and (served is None or served(_key(res))):
                st = res.get("status", {})
                _pending(st.get("conditions", []), message)
                for ls in st.get("listeners", []):
                    _pending(ls.get("conditions", []), message)
        return out
    blame = _gateway_blame(outcome.rejected, origins, out)
    for res in out:
        parts = blame.get(_key(res))
        if not parts:
            continue
        st = res.get("status", {})
        messages = [m for msgs in parts.values() for m in msgs]
        _set_programmed(st.get("conditions", []), "Invalid", _joined(messages))
        for ls in st.get("listeners", []):
            msgs = parts.get(ls.get("name"))
            if msgs:
                _set_programmed(ls.get("conditions", []), "Invalid", _joined(msgs))
    return out


def _joined(messages: list[str]) -> str:
    return clip("; ".join(dict.fromkeys(messages)), CONDITION_MESSAGE_LIMIT)


def _pending(conditions: list[dict[str, Any]], message: str) -> None:
    for c in conditions:
        if c.get("type") == "Programmed" and c.get("status") == "True":
            c["status"] = "False"
            c["reason"] = "Pending"
            c["message"] = message


class TransitionClock:
    """`lastTransitionTime` per condition: when its status last changed (kept across loads)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[ObjKey, str, str], tuple[str, str]] = {}

    def stamp(self, resources: list[dict[str, Any]], now: str) -> list[dict[str, Any]]:
        seen: dict[tuple[ObjKey, str, str], tuple[str, str]] = {}
        for res in resources:
            key = _key(res)
            for where, conditions in _condition_lists(res.get("status", {})):
                for c in conditions:
                    ident = (key, where, str(c.get("type")))
                    status = str(c.get("status"))
                    prev = self._seen.get(ident)
                    when = prev[1] if prev is not None and prev[0] == status else now
                    c["lastTransitionTime"] = when
                    seen[ident] = (status, when)
        self._seen = seen
        return resources


def _condition_lists(status: dict[str, Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    yield "", status.get("conditions", [])
    for ls in status.get("listeners", []):
        yield f"listener/{ls.get('name')}", ls.get("conditions", [])
    for p in status.get("parents", []):
        yield f"parent/{sorted(p.get('parentRef', {}).items())}", p.get("conditions", [])
    for a in status.get("ancestors", []):
        yield f"ancestor/{sorted(a.get('ancestorRef', {}).items())}", a.get("conditions", [])
