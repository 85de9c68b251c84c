"""The one transition clock: `lastTransitionTime` moves only when a condition's status does.

Pure (the writer passes `now`). Both writers use it: the controller compares with the object
the API server holds (`sources.status_merge`), `serve` with what it showed last
(`TransitionClock`). Works on the written shape (dicts): the times belong to writing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hatchway.model.meta import GATEWAY_GROUP
from hatchway.model.refs import ObjectRef

SHARED_LISTS = {"parents": "parentRef", "ancestors": "ancestorRef"}


def carry_transition_times(
    desired: Iterable[dict[str, Any]], observed: list[dict[str, Any]] | None, now: str
) -> list[dict[str, Any]]:
    """Conditions with `lastTransitionTime` kept where the status is unchanged, else `now`."""
    before = {c.get("type"): c for c in observed or []}
    out = []
    for given in desired:
        c = dict(given)
        prev = before.get(c.get("type"))
        if prev is not None and prev.get("status") == c.get("status"):
            c["lastTransitionTime"] = prev.get("lastTransitionTime", now)
        else:
            c["lastTransitionTime"] = now
        out.append(c)
    return out


def ref_identity(ref: dict[str, Any], namespace: str | None) -> tuple[Any, ...]:
    """A parent/ancestor reference with the CRD defaults applied, for matching entries."""
    return (
        ref.get("group", GATEWAY_GROUP),
        ref.get("kind", "Gateway"),
        ref.get("namespace") or namespace,
        ref.get("name"),
        ref.get("sectionName"),
        ref.get("port"),
    )


def stamped(
    desired: dict[str, Any], observed: dict[str, Any] | None, namespace: str | None, now: str
) -> dict[str, Any]:
    """`desired` (a status) with transition times carried from `observed`, wherever it
    holds conditions: its own, its listeners', its parents' and ancestors' entries."""
    observed = observed or {}
    out = dict(desired)
    if "conditions" in desired:
        out["conditions"] = carry_transition_times(
            desired["conditions"], observed.get("conditions"), now
        )
    if "listeners" in desired:
        before = {ls.get("name"): ls for ls in observed.get("listeners") or []}
        out["listeners"] = [
            stamped(ls, before.get(ls.get("name")), namespace, now) for ls in desired["listeners"]
        ]
    for field, ref_key in SHARED_LISTS.items():
        if field in desired:
            by_ref = {
                ref_identity(e.get(ref_key) or {}, namespace): e for e in observed.get(field) or []
            }
            out[field] = [
                stamped(
                    e, by_ref.get(ref_identity(e.get(ref_key) or {}, namespace)), namespace, now
                )
                for e in desired[field]
            ]
    return out


def _identity(entry: dict[str, Any], ref_key: str, namespace: str | None) -> tuple[Any, ...]:
    return ref_identity(entry.get(ref_key) or {}, namespace)


class TransitionClock:
    """For a writer with no stored object to compare with (`serve`): what it stamped last
    stands in for it. The dicts it is given are not modified."""

    def __init__(self) -> None:
        self._last: dict[ObjectRef, dict[str, Any]] = {}

    def stamp(self, resources: Iterable[dict[str, Any]], now: str) -> list[dict[str, Any]]:
        last: dict[ObjectRef, dict[str, Any]] = {}
        out = []
        for res in resources:
            meta = res.get("metadata") or {}
            namespace = meta.get("namespace")
            ref = (str(res.get("kind")), namespace or "", str(meta.get("name")))
            status = stamped(res.get("status") or {}, self._last.get(ref), namespace, now)
            last[ref] = status
            out.append({**res, "status": status})
        self._last = last
        return out
