"""The status merge rules, without a cluster: ownership, transition times, no-op detection."""

from __future__ import annotations

from typing import Any

from hatchway.sources.status_merge import matches, merged_status

OURS = "hatchway.dev/gateway-controller"
THEIRS = "example.com/other"
T0 = "2026-01-01T00:00:00Z"
T1 = "2026-02-02T00:00:00Z"


def cond(type_: str, status: str, when: str = T0, gen: int = 1) -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": type_ if status == "True" else "Invalid",
        "message": "",
        "observedGeneration": gen,
        "lastTransitionTime": when,
    }


def parent(controller: str, name: str, *conds: dict[str, Any]) -> dict[str, Any]:
    return {"parentRef": {"name": name}, "controllerName": controller, "conditions": list(conds)}


def route(*parents: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "HTTPRoute",
        "metadata": {"namespace": "default", "name": "r", "resourceVersion": "7"},
        "status": {"parents": list(parents)},
    }


def test_unchanged_route_status_is_not_written() -> None:
    body = route(parent(OURS, "gw", cond("Accepted", "True")))
    want = {"parents": [parent(OURS, "gw", cond("Accepted", "True", when=T1))]}
    assert merged_status(body, want, OURS, T1) is None


def test_server_defaults_do_not_count_as_a_difference() -> None:
    observed = parent(OURS, "gw", cond("Accepted", "True"))
    observed["parentRef"] |= {"group": "gateway.networking.k8s.io", "kind": "Gateway"}
    want = {"parents": [parent(OURS, "gw", cond("Accepted", "True"))]}
    assert merged_status(route(observed), want, OURS, T1) is None


def test_other_controllers_entries_are_kept_and_ours_replaced() -> None:
    theirs = parent(THEIRS, "other-gw", cond("Accepted", "True"))
    body = route(theirs, parent(OURS, "gw", cond("Accepted", "True")))
    want = {"parents": [parent(OURS, "gw", cond("Accepted", "False"))]}
    out = merged_status(body, want, OURS, T1)
    assert out is not None
    assert out["parents"][0] == theirs
    ours = out["parents"][1]
    assert ours["controllerName"] == OURS
    assert ours["conditions"][0]["status"] == "False"
    assert ours["conditions"][0]["lastTransitionTime"] == T1  # the status changed


def test_transition_time_kept_when_only_the_message_changes() -> None:
    body = route(parent(OURS, "gw", cond("Accepted", "True", gen=1)))
    want_cond = cond("Accepted", "True", when=T1, gen=2)
    out = merged_status(body, {"parents": [parent(OURS, "gw", want_cond)]}, OURS, T1)
    assert out is not None
    assert out["parents"][0]["conditions"][0]["lastTransitionTime"] == T0
    assert out["parents"][0]["conditions"][0]["observedGeneration"] == 2


def test_our_stale_entry_is_removed_when_nothing_is_wanted() -> None:
    theirs = parent(THEIRS, "other-gw", cond("Accepted", "True"))
    body = route(theirs, parent(OURS, "gw", cond("Accepted", "True")))
    assert merged_status(body, None, OURS, T1) == {"parents": [theirs]}
    assert merged_status(route(theirs), None, OURS, T1) is None


def test_gateway_listener_conditions_keep_their_times() -> None:
    body = {
        "kind": "Gateway",
        "metadata": {"namespace": "default", "name": "gw"},
        "status": {
            "conditions": [cond("Programmed", "True")],
            "listeners": [
                {"name": "http", "attachedRoutes": 1, "conditions": [cond("Accepted", "True")]}
            ],
        },
    }
    want = {
        "conditions": [cond("Programmed", "True", when=T1)],
        "listeners": [
            {"name": "http", "attachedRoutes": 2, "conditions": [cond("Accepted", "True", when=T1)]}
        ],
    }
    out = merged_status(body, want, OURS, T1)
    assert out is not None
    assert out["listeners"][0]["attachedRoutes"] == 2
    assert out["listeners"][0]["conditions"][0]["lastTransitionTime"] == T0
    assert out["conditions"][0]["lastTransitionTime"] == T0


def test_matches_requires_equal_list_lengths() -> None:
    assert matches({"a": [1]}, {"a": [1], "b": 2})
    assert not matches({"a": [1]}, {"a": [1, 2]})
    assert not matches({"a": 1}, {})
