"""The status the controller would write, per owned resource, in the status subresource shape.

Typed records here; `hatchway.render.report_to_dicts` turns them into the exact camelCase
dicts the Kubernetes API (and `hatchway status`, and the admin API) show.
"""

from __future__ import annotations

from dataclasses import dataclass

from hatchway.ir.frozen import quick_init
from hatchway.status.conditions import Condition


@quick_init
@dataclass(frozen=True, order=True, slots=True)
class RouteGroupKind:
    group: str
    kind: str


@quick_init
@dataclass(frozen=True, slots=True)
class ListenerStatus:
    name: str
    supported_kinds: tuple[RouteGroupKind, ...]
    attached_routes: int
    conditions: tuple[Condition, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class GatewayAddress:
    type: str
    value: str
    routability: str | None = None  # GEP-5093; "" = the default (no portable guarantee)


@quick_init
@dataclass(frozen=True, slots=True)
class GatewayClassStatus:
    conditions: tuple[Condition, ...]
    supported_features: tuple[str, ...]  # sorted ascending, as the spec requires


@quick_init
@dataclass(frozen=True, slots=True)
class GatewayStatus:
    conditions: tuple[Condition, ...]
    listeners: tuple[ListenerStatus, ...]
    addresses: tuple[GatewayAddress, ...] = ()
    attached_listener_sets: int | None = None  # written only when ListenerSets are allowed


@quick_init
@dataclass(frozen=True, slots=True)
class ListenerSetStatus:
    conditions: tuple[Condition, ...]
    listeners: tuple[ListenerStatus, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class ParentRef:
    """A route parentRef or policy ancestorRef as written back to status (CRD defaults applied)."""

    group: str
    kind: str
    name: str
    namespace: str | None = None
    section_name: str | None = None
    port: int | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class RouteParentStatus:
    parent_ref: ParentRef
    controller_name: str
    conditions: tuple[Condition, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class RouteStatus:
    parents: tuple[RouteParentStatus, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class PolicyAncestorStatus:
    ancestor_ref: ParentRef
    controller_name: str
    conditions: tuple[Condition, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class PolicyStatus:
    ancestors: tuple[PolicyAncestorStatus, ...]


AnyStatus = GatewayClassStatus | GatewayStatus | ListenerSetStatus | RouteStatus | PolicyStatus


@quick_init
@dataclass(frozen=True, order=True, slots=True)
class ResourceKey:
    """Identity of an owned object: `namespace` is None for cluster-scoped kinds."""

    api_version: str
    kind: str
    namespace: str | None
    name: str

    @property
    def order(self) -> tuple[str, str, str, str]:
        """Sort key, as a plain tuple (the generated `__lt__` builds two per comparison).
        Within one kind the namespace is always None or always set, so `or ""` keeps order."""
        return (self.api_version, self.kind, self.namespace or "", self.name)

    def ref(self) -> str:
        if self.namespace is None:
            return f"{self.kind}/{self.name}"
        return f"{self.kind}/{self.namespace}/{self.name}"


@quick_init
@dataclass(frozen=True, slots=True)
class ResourceStatus:
    key: ResourceKey
    generation: int
    status: AnyStatus


@quick_init
@dataclass(frozen=True, order=True, slots=True)
class ReportWarning:
    """A finding beyond the spec's conditions (e.g. a shadowed rule); never affects status.
    `code` is a `status.findings.Finding`: whether it means "will not serve" is decided there."""

    object: str  # `Kind/namespace/name`
    message: str
    code: str


@quick_init
@dataclass(frozen=True, slots=True)
class StatusReport:
    resources: tuple[ResourceStatus, ...] = ()  # sorted by key
    warnings: tuple[ReportWarning, ...] = ()  # sorted

    def get(self, kind: str, namespace: str | None, name: str) -> ResourceStatus | None:
        """The entry for one object, or None if we do not own it (used by tests and the CLI)."""
        for r in self.resources:
            if r.key.kind == kind and r.key.namespace == namespace and r.key.name == name:
                return r
        return None
