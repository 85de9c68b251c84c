"""Core Kubernetes objects Hatchway reads: Service, EndpointSlice, Secret, ConfigMap, Namespace,
Pod (XBackend endpoint selectors) and ClusterTrustBundle (CA certificates).

Only the fields we use are modelled; other fields are ignored (these are not our CRDs, and real
cluster dumps carry many of them).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from hatchway.model.base import LooseModel
from hatchway.model.meta import ObjectMeta
from hatchway.model.shown import shown

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

Protocol = Literal["TCP", "UDP", "SCTP"]


def _int_or_string(value: object) -> object:
    # One clear error instead of pydantic's two union-branch errors.
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be an integer or a string (IntOrString)")
    return value


IntOrString = Annotated[int | str, BeforeValidator(_int_or_string)]


class ServicePort(LooseModel):
    name: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)]
    target_port: IntOrString | None = None
    protocol: Protocol = "TCP"
    app_protocol: str | None = None


class ServiceSpec(LooseModel):
    type: Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] = "ClusterIP"
    ports: tuple[ServicePort, ...] = ()
    external_name: str | None = None
    selector: dict[str, str] = Field(default_factory=dict)


class Service(LooseModel):
    api_version: str = "v1"
    kind: Literal["Service"] = "Service"
    metadata: ObjectMeta
    spec: ServiceSpec = Field(default_factory=ServiceSpec)


class EndpointConditions(LooseModel):
    """Kubernetes semantics: an absent `ready` means ready (unknown state treated as ready)."""

    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


class Endpoint(LooseModel):
    addresses: Annotated[tuple[str, ...], Field(min_length=1, max_length=100)]
    conditions: EndpointConditions = Field(default_factory=EndpointConditions)
    hostname: str | None = None
    node_name: str | None = None
    zone: str | None = None


class EndpointPort(LooseModel):
    name: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    protocol: Protocol = "TCP"
    app_protocol: str | None = None


def _none_is_empty(value: object) -> object:
    return () if value is None else value


class EndpointSlice(LooseModel):
    api_version: str = "discovery.k8s.io/v1"
    kind: Literal["EndpointSlice"] = "EndpointSlice"
    metadata: ObjectMeta
    address_type: Literal["IPv4", "IPv6", "FQDN"]
    # The endpointslice controller writes `null` for a Service with no ready Pods.
    endpoints: Annotated[tuple[Endpoint, ...], BeforeValidator(_none_is_empty)] = ()
    ports: Annotated[tuple[EndpointPort, ...], BeforeValidator(_none_is_empty)] = ()

    @property
    def service_name(self) -> str | None:
        """The Service this slice belongs to (label `kubernetes.io/service-name`)."""
        return self.metadata.labels.get(SERVICE_NAME_LABEL)


class Secret(LooseModel):
    """`data` holds decoded bytes; `stringData` is merged over it, as the API server does."""

    api_version: str = "v1"
    kind: Literal["Secret"] = "Secret"
    metadata: ObjectMeta
    type: str = "Opaque"
    data: dict[str, bytes] = Field(default_factory=dict)
    string_data: dict[str, str] = Field(default_factory=dict)

    @field_validator("data", mode="before")
    @classmethod
    def _decode(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        decoded: dict[str, object] = {}
        for key, item in value.items():
            if isinstance(item, str):
                try:
                    decoded[key] = base64.b64decode(item, validate=True)
                except (binascii.Error, ValueError):
                    # Only where: the decoder's message would quote part of the data.
                    raise ValueError(f"invalid base64 in {_data_key(key)}") from None
            else:
                decoded[key] = item
        return decoded

    @model_validator(mode="after")
    def _merge_string_data(self) -> Secret:
        if self.string_data:
            merged = dict(self.data)
            merged.update({k: v.encode() for k, v in self.string_data.items()})
            object.__setattr__(self, "data", merged)
        return self


_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")


def _data_key(key: object) -> str:
    return (
        f"data.{key}" if isinstance(key, str) and _SECRET_KEY.match(key) else f"data[{shown(key)}]"
    )


class ConfigMap(LooseModel):
    api_version: str = "v1"
    kind: Literal["ConfigMap"] = "ConfigMap"
    metadata: ObjectMeta
    data: dict[str, str] = Field(default_factory=dict)


class Namespace(LooseModel):
    api_version: str = "v1"
    kind: Literal["Namespace"] = "Namespace"
    metadata: ObjectMeta


class PodIP(LooseModel):
    ip: str


class PodCondition(LooseModel):
    type: str
    status: str


class PodStatus(LooseModel):
    phase: str | None = None
    pod_ip: str | None = Field(default=None, alias="podIP")
    pod_ips: tuple[PodIP, ...] = Field(default=(), alias="podIPs")
    conditions: tuple[PodCondition, ...] = ()


class Pod(LooseModel):
    """A Pod, for XBackend `endpointSelector`: its labels, addresses and readiness only."""

    api_version: str = "v1"
    kind: Literal["Pod"] = "Pod"
    metadata: ObjectMeta
    status: PodStatus = Field(default_factory=PodStatus)

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every IP of the Pod (`podIPs`, else `podIP`), in the order the kubelet gives."""
        ips = tuple(p.ip for p in self.status.pod_ips) or (
            (self.status.pod_ip,) if self.status.pod_ip else ()
        )
        return tuple(dict.fromkeys(ips))

    @property
    def ready(self) -> bool:
        """Running, Ready=True and not being deleted (an EndpointSlice's `ready`)."""
        if self.metadata.deletion_timestamp is not None or self.status.phase != "Running":
            return False
        return any(c.type == "Ready" and c.status == "True" for c in self.status.conditions)


class ClusterTrustBundleSpec(LooseModel):
    signer_name: str | None = None
    trust_bundle: str


class ClusterTrustBundle(LooseModel):
    """certificates.k8s.io ClusterTrustBundle (cluster-scoped): PEM CA certificates."""

    api_version: str = "certificates.k8s.io/v1"
    kind: Literal["ClusterTrustBundle"] = "ClusterTrustBundle"
    metadata: ObjectMeta
    spec: ClusterTrustBundleSpec
