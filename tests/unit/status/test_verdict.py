"""A data plane's verdict lands in the typed report's `Programmed` conditions."""

from __future__ import annotations

from hatchway import render
from hatchway.ads.verdict import AckState, Outcome, Rejection
from hatchway.ir import Origin
from hatchway.runtime.verdicts import verdict_of
from hatchway.status import (
    Condition,
    GatewayStatus,
    ListenerStatus,
    ParentRef,
    ResourceKey,
    ResourceStatus,
    RouteParentStatus,
    RouteStatus,
    StatusReport,
    condition,
)
from hatchway.status.verdict import Rejected, Verdict, apply_verdicts
from hatchway.xds import CLUSTER, LISTENER

V1 = "gateway.networking.k8s.io/v1"


def _programmed(ok: bool = True) -> Condition:
    return condition("Programmed", ok, "Programmed" if ok else "Invalid", "", 1)


def _gw(name: str, programmed: bool = True) -> ResourceStatus:
    listener = ListenerStatus("http", (), 0, (_programmed(programmed),))
    status = GatewayStatus(
        (condition("Accepted", True, "Accepted", "", 1), _programmed()), (listener,)
    )
    return ResourceStatus(ResourceKey(V1, "Gateway", "default", name), 1, status)


def _route(gw: str) -> ResourceStatus:
    parent = RouteParentStatus(ParentRef("gateway.networking.k8s.io", "Gateway", gw), "c", ())
    return ResourceStatus(ResourceKey(V1, "HTTPRoute", "default", "r"), 1, RouteStatus((parent,)))


def _cond(r: ResourceStatus, listener: bool = False) -> Condition:
    assert isinstance(r.status, GatewayStatus)
    conds = r.status.listeners[0].conditions if listener else r.status.conditions
    return next(c for c in conds if c.type == "Programmed")


def test_accepted_verdicts_leave_the_very_same_report() -> None:
    report = StatusReport((_gw("a"),))
    assert apply_verdicts(report, [Verdict(), Verdict()]) is report


def test_rejected_listener_marks_its_gateway_and_listener_only() -> None:
    report = StatusReport((_gw("a"), _gw("b")))
    rejected = Rejected("cannot bind", (Origin("Gateway", "default", "b", "http"),))
    out = apply_verdicts(report, [Verdict(rejected=(rejected,))])
    a, b = out.resources
    assert a is report.resources[0]  # untouched statuses are the same objects
    assert _cond(a).is_true
    assert (_cond(b).is_true, _cond(b).reason, _cond(b).message) == (
        False,
        "Invalid",
        "cannot bind",
    )
    assert not _cond(b, listener=True).is_true
    assert _cond(report.resources[1]).is_true  # the input is not modified


def test_rejected_cluster_reaches_the_gateway_through_the_routes_parents() -> None:
    report = StatusReport((_gw("a"), _gw("b"), _route("a")))
    rejected = Rejected("bad cluster", (Origin("HTTPRoute", "default", "r"),))
    a, b, _ = apply_verdicts(report, [Verdict(rejected=(rejected,))]).resources
    assert not _cond(a).is_true and _cond(a).message == "bad cluster"
    assert _cond(b).is_true


def test_pending_marks_only_what_the_data_plane_serves_and_only_true_conditions() -> None:
    report = StatusReport((_gw("a"), _gw("b", programmed=False)))
    served = frozenset({("Gateway", "default", "a")})
    out = apply_verdicts(report, [Verdict(pending="waiting", served=served)])
    a, b = out.resources
    assert (_cond(a).reason, _cond(a).message) == ("Pending", "Waiting for Envoy: waiting")
    assert b is report.resources[1]
    everyone = apply_verdicts(report, [Verdict(pending="waiting")])
    # A listener the core found unprogrammed keeps its own reason.
    assert _cond(everyone.resources[1], listener=True).reason == "Invalid"


def test_envoys_message_is_bounded_in_status() -> None:
    """A constraint failure makes Envoy print the whole resource; status gets its start."""
    dump = "Proto constraint validation failed: " + "virtual_hosts { routes { ... } } " * 5000
    rej = Rejection(LISTENER, "http/0.0.0.0/80", "v1", dump)
    origins = {(LISTENER, "http/0.0.0.0/80"): (Origin("Gateway", "default", "a", "http"),)}
    verdict = verdict_of(Outcome(AckState.NACKED, 1, (rej,)), origins, None)
    (gw,) = apply_verdicts(StatusReport((_gw("a"),)), [verdict]).resources
    for cond in (_cond(gw), _cond(gw, listener=True)):
        assert cond.message.startswith(
            "Envoy rejected listener 'http/0.0.0.0/80': Proto constraint validation failed"
        )
        assert len(cond.message) < 400
        assert cond.message.endswith(f"…({len(dump) - 300} more)")


def test_verdict_of_maps_each_answer() -> None:
    rej = Rejection(CLUSTER, "default/svc:80", "v1", "bad")
    origins = {(CLUSTER, "default/svc:80"): (Origin("HTTPRoute", "default", "r"),)}
    assert verdict_of(Outcome(AckState.ACKED, 1), origins, None).accepted
    assert verdict_of(Outcome(AckState.PENDING, 1, reason="x"), origins, None).pending == "x"
    nacked = verdict_of(Outcome(AckState.NACKED, 1, (rej,)), origins, None)
    assert nacked.rejected[0].origins == (Origin("HTTPRoute", "default", "r"),)
    assert nacked.rejected[0].message == "Envoy rejected cluster 'default/svc:80': bad"


def test_rendered_verdict_is_the_written_shape() -> None:
    rejected = Rejected("cannot bind", (Origin("Gateway", "default", "a"),))
    out = apply_verdicts(StatusReport((_gw("a"),)), [Verdict(rejected=(rejected,))])
    doc = render.report_to_dicts(out)["resources"][0]["status"]["conditions"]
    assert {"type": "Programmed", "status": "False", "reason": "Invalid"}.items() <= doc[1].items()
