"""Whose object is it: ours, another controller's, or nobody's yet.

The webhook sees every Gateway API object of the kinds it is registered for; it judges only
objects of our GatewayClasses. A Gateway is ours when its class's controllerName is ours, a
ListenerSet when its parent Gateway is ours, a route when one of its parentRefs reaches one
of our Gateways (directly or through a ListenerSet). An object whose class or parent does not
exist is nobody's: `status` warns about those (ParentNotFound, UnknownGatewayClass), and so
does admission, but it never denies them (the parent may be another implementation's,
created a second later).

The same decision is made from the raw body, for an object our model cannot read at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from hatchway.ir import ROUTE_KINDS
from hatchway.model.gateway import Gateway, GatewayClass, ListenerSet
from hatchway.model.meta import GATEWAY_GROUP
from hatchway.model.snapshot import Snapshot


class Claim(Enum):
    OURS = "ours"  # judged: denied when it cannot serve, warned about what status would say
    UNCLAIMED = "unclaimed"  # its class or every parent is missing: warned, never denied
    OTHER = "other"  # another controller's: allowed, nothing said


# (group, kind, namespace, name) of a parentRef, defaults applied
Parent = tuple[str, str, str, str]


class Ownership:
    """Our GatewayClasses, Gateways and ListenerSets in one snapshot."""

    def __init__(self, snapshot: Snapshot, controller: str) -> None:
        self.controller = controller
        self.classes = {
            gc.metadata.name: gc.spec.controller_name for gc in snapshot.gateway_classes
        }
        self.gateways = {
            (g.metadata.namespace, g.metadata.name): g.spec.gateway_class_name
            for g in snapshot.gateways
        }
        self.listener_sets = {
            (ls.metadata.namespace, ls.metadata.name): (
                ls.spec.parent_ref.group,
                ls.spec.parent_ref.kind,
                ls.spec.parent_ref.namespace or ls.metadata.namespace,
                ls.spec.parent_ref.name,
            )
            for ls in snapshot.listener_sets
        }

    def of_class(self, name: str) -> Claim:
        owner = self.classes.get(name)
        if owner is None:
            return Claim.UNCLAIMED
        return Claim.OURS if owner == self.controller else Claim.OTHER

    def of_parent(self, parent: Parent) -> Claim:
        group, kind, namespace, name = parent
        if group != GATEWAY_GROUP:
            return Claim.OTHER
        if kind == "Gateway":
            class_name = self.gateways.get((namespace, name))
            return Claim.UNCLAIMED if class_name is None else self.of_class(class_name)
        if kind == "ListenerSet":
            gateway = self.listener_sets.get((namespace, name))
            return Claim.UNCLAIMED if gateway is None else self.of_parent(gateway)
        return Claim.OTHER

    def of_parents(self, parents: Iterable[Parent]) -> Claim:
        """Ours if any parent is ours; else nobody's if any is missing; else another's."""
        claims = {self.of_parent(p) for p in parents}
        for claim in (Claim.OURS, Claim.UNCLAIMED):
            if claim in claims:
                return claim
        return Claim.OTHER


def claim(obj: object, ownership: Ownership) -> Claim:
    """Whose a parsed object is (BackendTLSPolicy: decided by translation, see `review`)."""
    if isinstance(obj, GatewayClass):
        return Claim.OURS if obj.spec.controller_name == ownership.controller else Claim.OTHER
    if isinstance(obj, Gateway):
        return ownership.of_class(obj.spec.gateway_class_name)
    ns: str = obj.metadata.namespace  # type: ignore[attr-defined]
    if isinstance(obj, ListenerSet):
        ref = obj.spec.parent_ref
        return ownership.of_parent((ref.group, ref.kind, ref.namespace or ns, ref.name))
    refs = obj.spec.parent_refs  # type: ignore[attr-defined]
    return ownership.of_parents((r.group, r.kind, r.namespace or ns, r.name) for r in refs)


def raw_claim(kind: str, body: dict[str, Any], namespace: str, ownership: Ownership) -> Claim:
    """`claim` read off a body the model refused (CRD defaults applied by hand; any value of
    the wrong type counts as missing)."""
    spec = _dict(body.get("spec"))
    if kind == "GatewayClass":
        owner = spec.get("controllerName")
        return Claim.OURS if owner == ownership.controller else Claim.OTHER
    if kind == "Gateway":
        name = spec.get("gatewayClassName")
        return ownership.of_class(name) if isinstance(name, str) else Claim.OTHER
    if kind == "ListenerSet":
        parent = _parent(spec.get("parentRef"), namespace)
        return ownership.of_parent(parent) if parent else Claim.OTHER
    if kind in ROUTE_KINDS:
        refs = spec.get("parentRefs")
        parents = [_parent(r, namespace) for r in refs] if isinstance(refs, list) else []
        return ownership.of_parents(p for p in parents if p is not None)
    return Claim.OTHER


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _parent(ref: object, namespace: str) -> Parent | None:
    ref = _dict(ref)
    values = (
        ref.get("group", GATEWAY_GROUP),
        ref.get("kind", "Gateway"),
        ref.get("namespace") or namespace,
        ref.get("name"),
    )
    if not all(isinstance(v, str) for v in values):
        return None
    return values  # type: ignore[return-value]
