"""XTelemetryPolicy (gateway.networking.x-k8s.io/v1alpha1, Gateway API v1.7.0 experimental,
GEP-4768): tracing for the Gateways it targets.

The CRD's CEL rules are checked here, as the API server would, so `serve` refuses what a
cluster would refuse.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from hatchway.model.base import Group, HeaderName, Int32, Kind, Model, ObjectName
from hatchway.model.meta import BackendObjectReference, ObjectMeta
from hatchway.model.routes import HTTPHeader

X_GROUP = "gateway.networking.x-k8s.io"

Mode = Literal["Enabled", "Disabled", "ImplementationDefault"]
AttributeKey = Annotated[
    str, StringConstraints(min_length=1, max_length=256, pattern=r"^[a-z0-9_.-]+$")
]
AttributeName = Annotated[
    str, StringConstraints(min_length=1, max_length=256, pattern=r"^[a-zA-Z0-9_.:/-]+$")
]


class LocalPolicyTargetReference(Model):
    group: Group
    kind: Kind
    name: ObjectName


class Fraction(Model):
    numerator: Annotated[Int32, Field(ge=0)]
    denominator: Annotated[Int32, Field(ge=1)] = 100

    @model_validator(mode="after")
    def _at_most_one(self) -> Fraction:
        if self.numerator > self.denominator:
            raise ValueError("numerator must be less than or equal to denominator")
        return self


class Attribute(Model):
    name: AttributeName
    source_type: Literal["Header", "Literal", "Attribute"]
    header_name: HeaderName | None = None
    literal_value: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = None
    attribute_key: AttributeKey | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Attribute:
        for source, field, value in (
            ("Header", "headerName", self.header_name),
            ("Literal", "literalValue", self.literal_value),
            ("Attribute", "attributeKey", self.attribute_key),
        ):
            if (self.source_type == source) != (value is not None):
                raise ValueError(
                    f"{field} is required when sourceType is {source}, and must be empty otherwise"
                )
        return self


class TracingProvider(Model):
    backend_ref: BackendObjectReference
    headers: Annotated[tuple[HTTPHeader, ...], Field(max_length=16)] = ()

    @model_validator(mode="after")
    def _port(self) -> TracingProvider:
        ref = self.backend_ref
        if ref.group == "" and ref.kind == "Service" and ref.port is None:
            raise ValueError("Must have port for Service reference")
        return self


class ParentBasedSampling(Model):
    mode: Mode = "ImplementationDefault"
    sampling_rate: Fraction | None = None

    @model_validator(mode="after")
    def _rate_when_enabled(self) -> ParentBasedSampling:
        if self.sampling_rate is not None and self.mode != "Enabled":
            raise ValueError("samplingRate can only be set when mode is Enabled")
        return self


class TracingConfig(Model):
    mode: Mode = "ImplementationDefault"
    provider: TracingProvider | None = None
    sampling_rate: Fraction | None = None
    parent_based_sampling: ParentBasedSampling | None = None
    service_name: (
        Annotated[
            str, StringConstraints(min_length=1, max_length=253, pattern=r"^[a-zA-Z0-9_.:/-]+$")
        ]
        | None
    ) = None
    span_name: (
        Annotated[
            str,
            StringConstraints(
                min_length=1, max_length=256, pattern=r"^[a-zA-Z0-9_.:/-]+( [a-zA-Z0-9_.:/-]+)*$"
            ),
        ]
        | None
    ) = None
    attributes: tuple[Attribute, ...] = ()

    @model_validator(mode="after")
    def _enabled_only(self) -> TracingConfig:
        if (self.mode == "Enabled") != (self.provider is not None):
            raise ValueError(
                "provider is required when mode is Enabled, and must be empty otherwise"
            )
        for field, value in (
            ("samplingRate", self.sampling_rate),
            ("parentBasedSampling", self.parent_based_sampling),
            ("serviceName", self.service_name),
            ("spanName", self.span_name),
            ("attributes", self.attributes or None),
        ):
            if value is not None and self.mode != "Enabled":
                raise ValueError(f"{field} can only be set when mode is Enabled")
        names = [a.name for a in self.attributes]
        if len(set(names)) != len(names):
            raise ValueError("attributes must have unique names")
        return self


class XTelemetryPolicySpec(Model):
    target_refs: Annotated[
        tuple[LocalPolicyTargetReference, ...], Field(min_length=1, max_length=16)
    ]
    tracing: TracingConfig | None = None

    @model_validator(mode="after")
    def _something(self) -> XTelemetryPolicySpec:
        if self.tracing is None:
            raise ValueError("at least one of the fields in [tracing] must be set")
        return self


class XTelemetryPolicy(Model):
    api_version: str = f"{X_GROUP}/v1alpha1"
    kind: Literal["XTelemetryPolicy"] = "XTelemetryPolicy"
    metadata: ObjectMeta
    spec: XTelemetryPolicySpec
