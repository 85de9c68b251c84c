"""ReferenceGrant and BackendTLSPolicy (gateway.networking.k8s.io)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from hatchway.model.base import (
    AnnotationValue,
    Group,
    Hostname,
    Kind,
    Model,
    NamespaceName,
    ObjectName,
    PreciseHostname,
    SectionName,
)
from hatchway.model.meta import GATEWAY_GROUP, LocalObjectReference, ObjectMeta

# --- ReferenceGrant -----------------------------------------------------------------------------


class ReferenceGrantFrom(Model):
    group: Group
    kind: Kind
    namespace: NamespaceName


class ReferenceGrantTo(Model):
    group: Group
    kind: Kind
    name: ObjectName | None = None


class ReferenceGrantSpec(Model):
    from_: Annotated[tuple[ReferenceGrantFrom, ...], Field(min_length=1, max_length=16)] = Field(
        alias="from"
    )
    to: Annotated[tuple[ReferenceGrantTo, ...], Field(min_length=1, max_length=16)]


class ReferenceGrant(Model):
    api_version: str = f"{GATEWAY_GROUP}/v1"
    kind: Literal["ReferenceGrant"] = "ReferenceGrant"
    metadata: ObjectMeta
    spec: ReferenceGrantSpec


# --- BackendTLSPolicy ---------------------------------------------------------------------------

WELL_KNOWN_CA_PATTERN = (
    r"^(System|([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
    r"/([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]))$"
)
URI_PATTERN = r"^(([^:/?#]+):)(//([^/?#]*))([^?#]*)(\?([^#]*))?(#(.*))?"


class LocalPolicyTargetReferenceWithSectionName(Model):
    group: Group
    kind: Kind
    name: ObjectName
    section_name: SectionName | None = None


class SubjectAltName(Model):
    type: Literal["Hostname", "URI"]
    hostname: Hostname | None = None
    uri: (
        Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=URI_PATTERN)] | None
    ) = None


class BackendTLSPolicyValidation(Model):
    ca_certificate_refs: Annotated[tuple[LocalObjectReference, ...], Field(max_length=8)] = ()
    well_known_ca_certificates: (
        Annotated[
            str, StringConstraints(min_length=1, max_length=253, pattern=WELL_KNOWN_CA_PATTERN)
        ]
        | None
    ) = Field(default=None, alias="wellKnownCACertificates")
    hostname: PreciseHostname
    subject_alt_names: Annotated[tuple[SubjectAltName, ...], Field(max_length=5)] = ()


class BackendTLSPolicySpec(Model):
    target_refs: Annotated[
        tuple[LocalPolicyTargetReferenceWithSectionName, ...], Field(min_length=1, max_length=16)
    ]
    validation: BackendTLSPolicyValidation
    options: dict[str, AnnotationValue] = Field(default_factory=dict)


class BackendTLSPolicy(Model):
    api_version: str = f"{GATEWAY_GROUP}/v1"
    kind: Literal["BackendTLSPolicy"] = "BackendTLSPolicy"
    metadata: ObjectMeta
    spec: BackendTLSPolicySpec
