"""The status merge rules, without a cluster: ownership, transition times, no-op detection,
and planning that re-checks only objects whose body or desired status moved."""

from __future__ import annotations

import copy
from typing import Any

from hatchway.sources.kube import WATCHED, ObjectCache
from hatchway.sources.status_merge import matches, merged_status
from hatchway.sources.status_writer import plan

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


def test_other_controllers_conditions_on_our_gateway_are_kept_unchanged() -> None:
    """Gateway API v1.7 GatewayPreserveForeignConditions: a prefixed condition type we do not
    write belongs to someone else, on the Gateway and on its listeners; ours are replaced."""
    foreign = cond("example.com/Seeded", "True", when=T0, gen=1)
    body = {
        "kind": "Gateway",
        "metadata": {"namespace": "default", "name": "gw", "generation": 2},
        "status": {
            "conditions": [cond("Programmed", "True"), foreign, cond("Ready", "True")],
            "listeners": [{"name": "http", "conditions": [foreign, cond("Accepted", "True")]}],
        },
    }
    want = {
        "conditions": [cond("Programmed", "False", when=T1, gen=2)],
        "listeners": [{"name": "http", "conditions": [cond("Accepted", "True", T1, gen=2)]}],
    }
    out = merged_status(body, want, OURS, T1)
    assert out is not None
    # Ours replaced (the unprefixed Ready we no longer want is dropped), theirs kept as is.
    assert [c["type"] for c in out["conditions"]] == ["Programmed", "example.com/Seeded"]
    assert out["conditions"][1] == foreign
    assert out["listeners"][0]["conditions"][1] == foreign
    # Written once: the merged status then matches what the server holds.
    assert merged_status({**body, "status": out}, want, OURS, T1) is None


def test_matches_requires_equal_list_lengths() -> None:
    assert matches({"a": [1]}, {"a": [1], "b": 2})
    assert not matches({"a": [1]}, {"a": [1, 2]})
    assert not matches({"a": 1}, {})


def test_empty_routability_matches_a_pruned_one() -> None:
    """The standard-channel CRD has no `routability`: the API server drops it, and a status
    without it says the same as `routability: ""` (GEP-5093), so it is not written again."""
    want = {"addresses": [{"type": "IPAddress", "value": "10.0.0.1", "routability": ""}]}
    assert matches(want, {"addresses": [{"type": "IPAddress", "value": "10.0.0.1"}]})
    cluster = {"addresses": [{"type": "IPAddress", "value": "10.0.0.1", "routability": "Cluster"}]}
    assert not matches(cluster, {"addresses": [{"type": "IPAddress", "value": "10.0.0.1"}]})


def desired_route(*conds: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "HTTPRoute",
        "metadata": {"namespace": "default", "name": "r"},
        "status": {"parents": [parent(OURS, "gw", *conds)]},
    }


def test_plan_rechecks_only_what_moved() -> None:
    cache = ObjectCache(lambda kind, spec: None)
    specs = {s.kind: (s, "v1") for s in WATCHED if s.kind == "HTTPRoute"}
    cache.upsert("HTTPRoute", route())
    want = desired_route(cond("Accepted", "True"))
    [write] = plan(cache, specs, [want], OURS, T1)
    assert (write.name, write.resource_version) == ("r", "7")

    # The write comes back through the watch: nothing left to do, and the verdict is kept.
    written = {**route(), "status": write.status}
    written["metadata"] = {**written["metadata"], "resourceVersion": "8"}
    cache.upsert("HTTPRoute", written)
    assert plan(cache, specs, [copy.deepcopy(want)], OURS, T1) == []
    assert cache.status_checked[("HTTPRoute", "default", "r")][0] is written

    # Either side moving is looked at again: another writer wiped our entry ...
    cache.upsert(
        "HTTPRoute", {**route(), "metadata": {**written["metadata"], "resourceVersion": "9"}}
    )
    assert [w.resource_version for w in plan(cache, specs, [want], OURS, T1)] == ["9"]
    # ... or we want something else.
    cache.upsert("HTTPRoute", written)
    assert plan(cache, specs, [want], OURS, T1) == []
    changed = desired_route(cond("Accepted", "False"))
    [again] = plan(cache, specs, [changed], OURS, T1)
    assert again.status["parents"][0]["conditions"][0]["status"] == "False"


def test_status_rendered_from_another_generation_waits_for_the_rebuild() -> None:
    cache = ObjectCache(lambda kind, spec: None)
    specs = {s.kind: (s, "v1") for s in WATCHED if s.kind == "HTTPRoute"}
    # Deleted and created again: the new object is generation 1, while the configuration
    # still running was translated from its predecessor's generation 3.
    fresh = route()
    fresh["metadata"] = {**fresh["metadata"], "generation": 1}
    cache.upsert("HTTPRoute", fresh)
    stale = desired_route(cond("Accepted", "True", gen=3))
    stale["metadata"]["generation"] = 3
    assert plan(cache, specs, [stale], OURS, T1) == []
    assert ("HTTPRoute", "default", "r") not in cache.status_checked
    current = desired_route(cond("Accepted", "True", gen=1))
    current["metadata"]["generation"] = 1
    [write] = plan(cache, specs, [current], OURS, T1)
    assert write.status["parents"][0]["conditions"][0]["observedGeneration"] == 1
