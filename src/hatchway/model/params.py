"""`hatchway.dev/v1alpha1` GatewayParameters: how the data plane of a Gateway is run.

Referenced by a GatewayClass's `spec.parametersRef` (defaults for every Gateway of the class)
and by a Gateway's `spec.infrastructure.parametersRef` (its own, over the class's, field by
field). The CRD is `deploy/crds/hatchway.dev_gatewayparameters.yaml`; both must say the same.
Scheduling fields are the Kubernetes Pod fields of the same name, passed through as written.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from hatchway.model.base import AnnotationValue, Int32, LabelValue, Model
from hatchway.model.meta import ObjectMeta

PARAMS_GROUP = "hatchway.dev"
PARAMS_KIND = "GatewayParameters"

Quantity = Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?(m|[KMGTPE]i?|[kMGTPE])?$")]


class ResourceRequirements(Model):
    requests: dict[Literal["cpu", "memory", "ephemeral-storage"], Quantity] = Field(
        default_factory=dict
    )
    limits: dict[Literal["cpu", "memory", "ephemeral-storage"], Quantity] = Field(
        default_factory=dict
    )


class ServiceParameters(Model):
    type: Literal["LoadBalancer", "ClusterIP", "NodePort"] | None = None
    annotations: dict[str, AnnotationValue] = Field(default_factory=dict)
    external_traffic_policy: Literal["Cluster", "Local"] | None = None


class EnvoyParameters(Model):
    log_level: Literal["trace", "debug", "info", "warning", "error", "critical", "off"] | None = (
        None
    )
    concurrency: Annotated[int, Field(ge=1, le=256)] | None = None
    # How long a stopping proxy keeps accepting and finishing requests (the Pod's
    # terminationGracePeriodSeconds is this plus a margin).
    drain_seconds: Annotated[int, Field(ge=0, le=3600)] | None = None


class PodParameters(Model):
    labels: dict[str, LabelValue] = Field(default_factory=dict)
    annotations: dict[str, AnnotationValue] = Field(default_factory=dict)
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: tuple[dict[str, Any], ...] = ()
    affinity: dict[str, Any] | None = None
    topology_spread_constraints: tuple[dict[str, Any], ...] = ()
    priority_class_name: Annotated[str, StringConstraints(max_length=253)] | None = None


class GatewayParametersSpec(Model):
    replicas: Annotated[Int32, Field(ge=0)] | None = None
    resources: ResourceRequirements | None = None
    service: ServiceParameters = Field(default_factory=ServiceParameters)
    envoy: EnvoyParameters = Field(default_factory=EnvoyParameters)
    pod: PodParameters = Field(default_factory=PodParameters)


class GatewayParameters(Model):
    api_version: str = f"{PARAMS_GROUP}/v1alpha1"
    kind: Literal["GatewayParameters"] = "GatewayParameters"
    metadata: ObjectMeta
    spec: GatewayParametersSpec = Field(default_factory=GatewayParametersSpec)
