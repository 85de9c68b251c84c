"""One transition clock: a condition's `lastTransitionTime` moves only when its status does,
for `serve` (its own last stamp) and for the controller (the API server's object) alike."""

from __future__ import annotations

from typing import Any

from hatchway.sources.status_merge import merged_status
from hatchway.status.transitions import TransitionClock


def _gw(status: str) -> dict[str, Any]:
    cond = {"type": "Programmed", "status": status, "reason": "R", "message": ""}
    return {
        "kind": "Gateway",
        "metadata": {"namespace": "default", "name": "a"},
        "status": {"conditions": [dict(cond)], "listeners": [{"name": "l", "conditions": [cond]}]},
    }


def _route(status: str) -> dict[str, Any]:
    ref = {"name": "a", "kind": "Gateway"}
    cond = {"type": "Accepted", "status": status, "reason": "R", "message": ""}
    entry = {"parentRef": ref, "controllerName": "c", "conditions": [cond]}
    return {
        "kind": "HTTPRoute",
        "metadata": {"namespace": "default", "name": "r"},
        "status": {"parents": [entry]},
    }


def _times(res: dict[str, Any]) -> list[str]:
    st = res["status"]
    lists = [st.get("conditions", [])]
    lists += [x["conditions"] for f in ("listeners", "parents") for x in st.get(f, [])]
    return [c["lastTransitionTime"] for cs in lists for c in cs]


def test_serve_clock_moves_only_on_a_status_change() -> None:
    clock = TransitionClock()
    given = [_gw("True"), _route("True")]
    first = clock.stamp(given, "T1")
    again = clock.stamp([_gw("True"), _route("True")], "T2")
    flipped = clock.stamp([_gw("False"), _route("False")], "T3")
    assert [_times(r) for r in first] == [["T1", "T1"], ["T1"]]
    assert [_times(r) for r in again] == [["T1", "T1"], ["T1"]]
    assert [_times(r) for r in flipped] == [["T3", "T3"], ["T3"]]
    assert "lastTransitionTime" not in given[0]["status"]["conditions"][0]  # not modified


def test_controller_and_serve_agree() -> None:
    """The same change, judged against the API server's object and by `serve`'s clock,
    gives the same times."""
    clock = TransitionClock()
    stored = clock.stamp([_gw("True")], "T1")[0]
    for status, now in (("True", "T2"), ("False", "T3")):
        served = clock.stamp([_gw(status)], now)[0]
        written = merged_status(stored, _gw(status)["status"], "c", now)
        if written is None:  # nothing to write: what is stored already says it
            assert _times(served) == _times(stored)
        else:
            assert _times(served) == _times({"status": written})
            stored = {**stored, "status": written}
