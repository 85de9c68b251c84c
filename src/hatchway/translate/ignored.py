"""Findings about input that gets no status from us, so that nothing is ignored silently.

The spec gives a Gateway of an unknown class, or a route whose parent does not exist, no
status at all: no controller owns them. A user who mistyped a name would see nothing, so each
gets a warning naming the object and the reason (`status.findings` says how much it matters).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from hatchway.ir import IR
from hatchway.model.gateway import ListenerSet
from hatchway.model.meta import GATEWAY_GROUP
from hatchway.model.snapshot import Snapshot
from hatchway.status import ReportWarning
from hatchway.status.findings import Finding
from hatchway.translate.routectx import AnyRoute
from hatchway.translate.settings import Settings

_ROUTE_FIELDS = ("http_routes", "grpc_routes", "tls_routes", "tcp_routes", "udp_routes")


class _Classes:
    """GatewayClass name -> its controller; and per Gateway, why it is not ours (or None)."""

    def __init__(self, snapshot: Snapshot, controller: str) -> None:
        self.controller = controller
        self.of_class = {
            gc.metadata.name: gc.spec.controller_name for gc in snapshot.gateway_classes
        }
        self.gateway_class = {
            (g.metadata.namespace, g.metadata.name): g.spec.gateway_class_name
            for g in snapshot.gateways
        }

    def why_not_ours(self, class_name: str) -> tuple[Finding, str] | None:
        owner = self.of_class.get(class_name)
        if owner == self.controller:
            return None
        if owner is None:
            return Finding.UNKNOWN_GATEWAY_CLASS, f"GatewayClass {class_name!r} does not exist"
        return Finding.OTHER_CONTROLLER, f"GatewayClass {class_name!r} belongs to {owner}"


def ignored(
    snapshot: Snapshot,
    settings: Settings,
    ir: IR,
    http_route_findings: Iterable[ReportWarning] | None = None,
) -> list[ReportWarning]:
    """Warnings for the Gateways, ListenerSets and route parentRefs we do not serve, and for a
    configuration that serves nothing at all. The caller may pass the HTTPRoutes' findings
    (`ParentCheck.route`) when it kept them from the last call."""
    check = ParentCheck(snapshot, settings.controller_name)
    out = list(_gateways(snapshot, check.classes))
    out += _listener_sets(snapshot, check.classes)
    fields = _ROUTE_FIELDS if http_route_findings is None else _ROUTE_FIELDS[1:]
    for f in fields:
        for route in getattr(snapshot, f):
            out += check.route(route)
    if http_route_findings is not None:
        out += http_route_findings
    if not ir.listeners:
        out.append(
            ReportWarning(
                "input",
                "no listener is served: no Gateway of a GatewayClass with controllerName "
                f"{settings.controller_name} has a listener that can be programmed",
                Finding.NOTHING_SERVED,
            )
        )
    return out


def _gateways(snapshot: Snapshot, classes: _Classes) -> Iterator[ReportWarning]:
    for gw in snapshot.gateways:
        why = classes.why_not_ours(gw.spec.gateway_class_name)
        if why is not None:
            code, reason = why
            ref = f"Gateway/{gw.metadata.namespace}/{gw.metadata.name}"
            yield ReportWarning(ref, f"not served by Hatchway: {reason}", code)


def _listener_sets(snapshot: Snapshot, classes: _Classes) -> Iterator[ReportWarning]:
    for ls in snapshot.listener_sets:
        pref = ls.spec.parent_ref
        if pref.group != GATEWAY_GROUP or pref.kind != "Gateway":
            continue
        found = _gateway_verdict(classes, (pref.namespace or ls.metadata.namespace, pref.name))
        if found is not None:
            ref = f"ListenerSet/{ls.metadata.namespace}/{ls.metadata.name}"
            yield ReportWarning(ref, f"not served by Hatchway: parent {found[1]}", found[0])


class ParentCheck:
    """Which of a route's parentRefs name a Gateway or ListenerSet we do not serve: one
    verdict per parent, as thousands of routes name a handful of parents."""

    def __init__(self, snapshot: Snapshot, controller: str) -> None:
        self.classes = _Classes(snapshot, controller)
        self._sets = {(s.metadata.namespace, s.metadata.name): s for s in snapshot.listener_sets}
        self._verdicts: dict[tuple[str, str, str], Verdict | None] = {}

    def route(self, route: AnyRoute) -> tuple[ReportWarning, ...]:
        out: tuple[ReportWarning, ...] = ()
        ns = route.metadata.namespace
        for pref in route.spec.parent_refs:
            if pref.group != GATEWAY_GROUP or pref.kind not in ("Gateway", "ListenerSet"):
                continue
            key = (pref.kind, pref.namespace or ns, pref.name)
            if key in self._verdicts:
                found = self._verdicts[key]
            else:
                found = self._verdicts[key] = self._verdict(key)
            if found is not None:
                ref = f"{route.kind}/{ns}/{route.metadata.name}"
                message = f"not served by Hatchway: parentRef {found[1]}"
                out += (ReportWarning(ref, message, found[0]),)
        return out

    def _verdict(self, key: tuple[str, str, str]) -> Verdict | None:
        kind, namespace, name = key
        if kind == "Gateway":
            return _gateway_verdict(self.classes, (namespace, name))
        return _listener_set_verdict(self.classes, self._sets, (namespace, name))


Verdict = tuple[Finding, str]  # the finding, and what the parent is, as a phrase


def _gateway_verdict(classes: _Classes, key: tuple[str, str]) -> Verdict | None:
    """Why the Gateway `key` is not served (None: it is ours)."""
    what = f"Gateway {key[0]}/{key[1]}"
    class_name = classes.gateway_class.get(key)
    if class_name is None:
        return Finding.PARENT_NOT_FOUND, f"{what} does not exist"
    why = classes.why_not_ours(class_name)
    return None if why is None else (why[0], f"{what}: {why[1]}")


def _listener_set_verdict(
    classes: _Classes, sets: dict[tuple[str, str], ListenerSet], key: tuple[str, str]
) -> Verdict | None:
    what = f"ListenerSet {key[0]}/{key[1]}"
    ls = sets.get(key)
    if ls is None:
        return Finding.PARENT_NOT_FOUND, f"{what} does not exist"
    gref = ls.spec.parent_ref
    found = _gateway_verdict(classes, (gref.namespace or ls.metadata.namespace, gref.name))
    return None if found is None else (found[0], f"{what}: its {found[1]}")
