"""Object metadata and the reference types shared by several kinds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from hatchway.model.base import (
    Group,
    Int32,
    Kind,
    LooseModel,
    Model,
    NamespaceName,
    ObjectName,
    PortNumber,
    SectionName,
)

GATEWAY_GROUP = "gateway.networking.k8s.io"

# Objects without a creationTimestamp get EPOCH + N seconds (N = input position), so ties that
# the spec breaks by age are broken by input order, the same way on every run.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class ObjectMeta(LooseModel):
    """The metadata Hatchway reads; other fields (managedFields, ownerReferences…) are ignored.

    `namespace` is "" for cluster-scoped kinds; `parse_documents` fills "default" for namespaced
    kinds that omit it.
    """

    name: Annotated[str, StringConstraints(min_length=1, max_length=253)]
    namespace: str = "default"
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    generation: Annotated[int, Field(ge=1, le=2**63 - 1)] = 1
    creation_timestamp: datetime = EPOCH
    deletion_timestamp: datetime | None = None
    uid: str | None = None


class LabelSelectorRequirement(Model):
    key: str
    operator: str
    values: tuple[str, ...] = ()


class LabelSelector(Model):
    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: tuple[LabelSelectorRequirement, ...] = ()


class ParentReference(Model):
    """A route's parentRef (Gateway or ListenerSet), CRD defaults applied."""

    group: Group = GATEWAY_GROUP
    kind: Kind = "Gateway"
    namespace: NamespaceName | None = None
    name: ObjectName
    section_name: SectionName | None = None
    port: PortNumber | None = None


class BackendObjectReference(Model):
    """A reference to a backend (Service by default); `port` is the Service port."""

    group: Group = ""
    kind: Kind = "Service"
    name: ObjectName
    namespace: NamespaceName | None = None
    port: PortNumber | None = None


class BackendRef(BackendObjectReference):
    """A weighted backend of a route rule (TCPRoute, TLSRoute, UDPRoute)."""

    weight: Annotated[Int32, Field(ge=0, le=1_000_000)] = 1


class SecretObjectReference(Model):
    group: Group = ""
    kind: Kind = "Secret"
    name: ObjectName
    namespace: NamespaceName | None = None


class ObjectReference(Model):
    """A reference with explicit group and kind (no defaults), e.g. frontend CA certificates."""

    group: Group
    kind: Kind
    name: ObjectName
    namespace: NamespaceName | None = None


class LocalObjectReference(Model):
    group: Group
    kind: Kind
    name: ObjectName


class ParametersReference(Model):
    group: Group
    kind: Kind
    name: ObjectName
    namespace: NamespaceName | None = None


class RouteGroupKind(Model):
    group: Group = GATEWAY_GROUP
    kind: Kind


FromNamespaces = Literal["All", "Selector", "Same"]
