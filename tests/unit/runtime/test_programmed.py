from __future__ import annotations

from typing import Any

from hatchway.ads.verdict import AckState, Outcome, Rejection
from hatchway.ir import Origin
from hatchway.runtime.programmed import TransitionClock, apply_outcome
from hatchway.xds import CLUSTER, LISTENER


def _gw(name: str) -> dict[str, Any]:
    cond = {"type": "Programmed", "status": "True", "reason": "Programmed", "message": ""}
    return {
        "kind": "Gateway",
        "metadata": {"namespace": "default", "name": name},
        "status": {
            "conditions": [dict(cond)],
            "listeners": [{"name": "http", "conditions": [dict(cond)]}],
        },
    }


def _route(gw: str) -> dict[str, Any]:
    return {
        "kind": "HTTPRoute",
        "metadata": {"namespace": "default", "name": "r"},
        "status": {"parents": [{"parentRef": {"name": gw, "kind": "Gateway"}, "conditions": []}]},
    }


def _programmed(res: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in res["status"]["conditions"] if c["type"] == "Programmed")


def test_rejected_listener_marks_its_gateway_and_listener_only() -> None:
    resources = [_gw("a"), _gw("b")]
    rej = Rejection(LISTENER, "http/0.0.0.0/80", "v1", "cannot bind")
    origins = {(LISTENER, "http/0.0.0.0/80"): (Origin("Gateway", "default", "b", "http"),)}
    out = apply_outcome(resources, Outcome(AckState.NACKED, 1, (rej,)), origins)
    assert _programmed(out[0])["status"] == "True"
    assert _programmed(out[1])["status"] == "False"
    assert "cannot bind" in _programmed(out[1])["message"]
    assert out[1]["status"]["listeners"][0]["conditions"][0]["status"] == "False"
    assert _programmed(resources[1])["status"] == "True"  # input untouched


def test_rejected_cluster_reaches_gateway_through_route_parents() -> None:
    resources = [_gw("a"), _route("a")]
    rej = Rejection(CLUSTER, "default/svc:80", "v1", "bad cluster")
    origins = {(CLUSTER, "default/svc:80"): (Origin("HTTPRoute", "default", "r"),)}
    out = apply_outcome(resources, Outcome(AckState.NACKED, 1, (rej,)), origins)
    assert _programmed(out[0])["status"] == "False"


def test_pending_is_not_programmed_and_transition_time_kept() -> None:
    out = apply_outcome([_gw("a")], Outcome(AckState.PENDING, 1, reason="waiting"), {})
    assert _programmed(out[0])["reason"] == "Pending"
    clock = TransitionClock()
    first = clock.stamp([_gw("a")], "T1")
    again = clock.stamp([_gw("a")], "T2")
    flipped = clock.stamp(out, "T3")
    assert _programmed(first[0])["lastTransitionTime"] == "T1"
    assert _programmed(again[0])["lastTransitionTime"] == "T1"
    assert _programmed(flipped[0])["lastTransitionTime"] == "T3"


def test_envoys_message_is_bounded_in_status() -> None:
    """A constraint failure makes Envoy print the whole resource; status gets its start."""
    dump = "Proto constraint validation failed: " + "virtual_hosts { routes { ... } } " * 5000
    rej = Rejection(LISTENER, "http/0.0.0.0/80", "v1", dump)
    origins = {(LISTENER, "http/0.0.0.0/80"): (Origin("Gateway", "default", "a", "http"),)}
    out = apply_outcome([_gw("a")], Outcome(AckState.NACKED, 1, (rej,)), origins)
    for cond in (_programmed(out[0]), out[0]["status"]["listeners"][0]["conditions"][0]):
        assert cond["message"].startswith(
            "Envoy rejected listener 'http/0.0.0.0/80': Proto constraint validation failed"
        )
        assert len(cond["message"]) < 400
        assert cond["message"].endswith(f"…({len(dump) - 300} more)")
