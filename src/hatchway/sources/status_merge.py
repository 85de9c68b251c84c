"""What to write into an object's status, given what the API server has and what we want.

Pure functions (no I/O), so the rules are unit-tested without a cluster:
- Routes and BackendTLSPolicies are shared: we own only the `parents[]` / `ancestors[]`
  entries whose `controllerName` is ours; other controllers' entries are kept as they are.
- Gateways, ListenerSets and GatewayClasses of our class are ours as a whole.
- `lastTransitionTime` is kept from the observed condition when its status did not change
  (`status.transitions`, the one transition clock).
- Conditions of a domain-prefixed type we do not write (`example.com/Foo`) belong to another
  controller: kept as they are, wherever we write conditions. Gateway API's own types carry no
  prefix, and Hatchway writes only those, so a prefixed type is never one we left behind.
- Nothing is written when the observed status already says what we want. The comparison lets
  the observed side have extra keys, because the API server fills in CRD defaults (e.g. a
  parentRef's group and kind) that our rendering may omit.
"""

from __future__ import annotations

import copy
from typing import Any

from hatchway.status.transitions import SHARED_LISTS, carry_transition_times, ref_identity


def foreign_conditions(
    desired: list[dict[str, Any]], observed: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """Observed conditions another controller owns: a prefixed type that we do not write."""
    ours = {c.get("type") for c in desired}
    return [
        c for c in observed or [] if "/" in str(c.get("type") or "") and c.get("type") not in ours
    ]


def _merge_conditions_in(
    desired: dict[str, Any], observed: dict[str, Any] | None, now: str
) -> dict[str, Any]:
    out = dict(desired)
    if "conditions" in desired:
        before = (observed or {}).get("conditions")
        out["conditions"] = carry_transition_times(
            desired["conditions"], before, now
        ) + foreign_conditions(desired["conditions"], before)
    return out


def _whole_status(desired: dict[str, Any], observed: dict[str, Any], now: str) -> dict[str, Any]:
    out = _merge_conditions_in(desired, observed, now)
    if "listeners" in desired:
        before = {ls.get("name"): ls for ls in observed.get("listeners") or []}
        out["listeners"] = [
            _merge_conditions_in(ls, before.get(ls.get("name")), now) for ls in desired["listeners"]
        ]
    return out


def _shared_status(  # noqa: PLR0917
    field: str,
    desired: dict[str, Any],
    observed: dict[str, Any],
    controller: str,
    namespace: str | None,
    now: str,
) -> dict[str, Any]:
    ref_key = SHARED_LISTS[field]
    observed_entries = observed.get(field) or []
    ours_before = {
        ref_identity(e.get(ref_key) or {}, namespace): e
        for e in observed_entries
        if e.get("controllerName") == controller
    }
    others = [e for e in observed_entries if e.get("controllerName") != controller]
    ours = []
    for entry in desired.get(field) or []:
        prev = ours_before.get(ref_identity(entry.get(ref_key) or {}, namespace))
        ours.append(_merge_conditions_in(entry, prev, now))
    return {field: others + ours}


def merged_status(
    body: dict[str, Any], desired: dict[str, Any] | None, controller: str, now: str
) -> dict[str, Any] | None:
    """The status fields to write to `body`, or None when it already matches.

    `desired` None means we want nothing there: only our shared entries are removed (an
    object we own as a whole but no longer want to describe is left alone).
    """
    observed = body.get("status") or {}
    namespace = (body.get("metadata") or {}).get("namespace")
    field = next((f for f in SHARED_LISTS if f in (desired or {}) or f in observed), None)
    if field is None and desired is not None and ("parents" in desired or "ancestors" in desired):
        field = "parents" if "parents" in desired else "ancestors"
    if field is not None:
        want = _shared_status(field, desired or {}, observed, controller, namespace, now)
    elif desired is None:
        return None
    else:
        want = _whole_status(desired, observed, now)
    return None if matches(want, observed) else want


# Status fields a CRD may not have, whose empty value means the same as absence: the
# standard-channel Gateway CRD prunes an address's `routability` (GEP-5093: unset = "").
_EMPTY_MEANS_ABSENT = frozenset({"routability"})


def matches(want: Any, have: Any) -> bool:
    """`have` says everything `want` says (it may hold extra, defaulted keys)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(
            matches(v, have[k]) if k in have else (k in _EMPTY_MEANS_ABSENT and v == "")
            for k, v in want.items()
        )
    if isinstance(want, list):
        return (
            isinstance(have, list)
            and len(want) == len(have)
            and all(matches(w, h) for w, h in zip(want, have, strict=True))
        )
    return bool(want == have)


def without_transition_times(status: dict[str, Any]) -> dict[str, Any]:
    """A copy with every `lastTransitionTime` removed (for comparing what changed)."""
    out = copy.deepcopy(status)

    def strip(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("lastTransitionTime", None)
            for v in node.values():
                strip(v)
        elif isinstance(node, list):
            for v in node:
                strip(v)

    strip(out)
    return out
