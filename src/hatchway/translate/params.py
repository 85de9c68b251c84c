"""GatewayClass and Gateway `parametersRef`: which GatewayParameters apply, or why none can.

A reference Hatchway cannot use (another group or kind, or an object that does not exist)
makes the class or Gateway `Accepted=False/InvalidParameters`, as the spec requires. The
effective parameters of a Gateway are its class's, overridden field by field by its own.
"""

from __future__ import annotations

from hatchway.model.gateway import Gateway, GatewayClass
from hatchway.model.params import (
    PARAMS_GROUP,
    PARAMS_KIND,
    GatewayParameters,
    GatewayParametersSpec,
)
from hatchway.model.snapshot import Snapshot

# The params itself, or why it cannot be used.
Resolved = GatewayParameters | str


def _lookup(
    snapshot: Snapshot, group: str, kind: str, namespace: str | None, name: str
) -> Resolved:
    what = f"parametersRef {group or 'core'}/{kind} {name}"
    if (group, kind) != (PARAMS_GROUP, PARAMS_KIND):
        return f"{what}: only {PARAMS_GROUP}/{PARAMS_KIND} is supported"
    if namespace is None:
        return f"{what}: a namespace is required for {PARAMS_KIND}"
    for p in snapshot.gateway_parameters:
        if p.metadata.namespace == namespace and p.metadata.name == name:
            return p
    return f"{what}: {PARAMS_KIND} {namespace}/{name} does not exist"


def class_params(snapshot: Snapshot, gc: GatewayClass) -> Resolved | None:
    """None: the class names no parameters."""
    ref = gc.spec.parameters_ref
    if ref is None:
        return None
    return _lookup(snapshot, ref.group, ref.kind, ref.namespace, ref.name)


def gateway_params(snapshot: Snapshot, gw: Gateway) -> Resolved | None:
    infra = gw.spec.infrastructure
    ref = infra.parameters_ref if infra is not None else None
    if ref is None:
        return None
    return _lookup(snapshot, ref.group, ref.kind, gw.metadata.namespace, ref.name)


def effective(
    of_class: GatewayParameters | None, of_gateway: GatewayParameters | None
) -> GatewayParametersSpec:
    """The class's parameters with the Gateway's own over them, field by field."""
    merged: dict[str, object] = {}
    for params in (of_class, of_gateway):
        if params is not None:
            _merge(merged, params.spec.model_dump(exclude_unset=True))
    return GatewayParametersSpec.model_validate(merged)


def _merge(into: dict[str, object], over: dict[str, object]) -> None:
    for key, value in over.items():
        current = into.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            _merge(current, value)
        else:
            into[key] = value
