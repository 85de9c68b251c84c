"""GatewayClass, Gateway and ListenerSet (gateway.networking.k8s.io), CRD defaults applied."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from hatchway.model.base import (
    AnnotationValue,
    Group,
    Hostname,
    Kind,
    LabelValue,
    Model,
    NamespaceName,
    ObjectName,
    PortNumber,
    SectionName,
)
from hatchway.model.meta import (
    GATEWAY_GROUP,
    FromNamespaces,
    LabelSelector,
    LocalObjectReference,
    ObjectMeta,
    ObjectReference,
    ParametersReference,
    RouteGroupKind,
    SecretObjectReference,
)
from hatchway.model.routes import HTTPExternalAuthFilter

CONTROLLER_NAME_PATTERN = (
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
    r"\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$"
)
PROTOCOL_PATTERN = (
    r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
    r"|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$"
)
ADDRESS_TYPE_PATTERN = (
    r"^Hostname|IPAddress|NamedAddress|[a-z0-9]([-a-z0-9]*[a-z0-9])?"
    r"(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$"
)

TlsOptions = dict[str, AnnotationValue]


# --- GatewayClass -------------------------------------------------------------------------------


class GatewayClassSpec(Model):
    controller_name: Annotated[
        str, StringConstraints(min_length=1, max_length=253, pattern=CONTROLLER_NAME_PATTERN)
    ]
    description: Annotated[str, StringConstraints(max_length=64)] | None = None
    parameters_ref: ParametersReference | None = None


class GatewayClass(Model):
    api_version: str = f"{GATEWAY_GROUP}/v1"
    kind: Literal["GatewayClass"] = "GatewayClass"
    metadata: ObjectMeta
    spec: GatewayClassSpec


# --- Listeners ----------------------------------------------------------------------------------


class RouteNamespaces(Model):
    from_: FromNamespaces = Field(default="Same", alias="from")
    selector: LabelSelector | None = None


class AllowedRoutes(Model):
    namespaces: RouteNamespaces = Field(default_factory=RouteNamespaces)
    kinds: Annotated[tuple[RouteGroupKind, ...], Field(max_length=8)] = ()


class ListenerTLSConfig(Model):
    mode: Literal["Terminate", "Passthrough"] = "Terminate"
    certificate_refs: Annotated[tuple[SecretObjectReference, ...], Field(max_length=64)] = ()
    options: TlsOptions = Field(default_factory=dict)


class ListenerFilter(Model):
    """One pre-routing filter (GEP-5224); exactly the member named by `type` is set."""

    type: Literal["ExternalAuth", "ExtensionRef"]
    external_auth: HTTPExternalAuthFilter | None = None
    extension_ref: LocalObjectReference | None = None


class ListenerFilters(Model):
    """`listener.filters` (v1.7, experimental): run in order on every request, before routing."""

    requests: Annotated[tuple[ListenerFilter, ...], Field(max_length=16)] = ()


class Listener(Model):
    """A Gateway listener; ListenerSet entries have the same shape."""

    name: SectionName
    hostname: Hostname | None = None
    port: PortNumber
    protocol: Annotated[
        str, StringConstraints(min_length=1, max_length=255, pattern=PROTOCOL_PATTERN)
    ]
    tls: ListenerTLSConfig | None = None
    allowed_routes: AllowedRoutes = Field(default_factory=AllowedRoutes)
    filters: ListenerFilters | None = None


# --- Gateway ------------------------------------------------------------------------------------


class GatewaySpecAddress(Model):
    type: Annotated[
        str, StringConstraints(min_length=1, max_length=253, pattern=ADDRESS_TYPE_PATTERN)
    ] = "IPAddress"
    value: Annotated[str, StringConstraints(max_length=253)] | None = None
    # GEP-5093 (v1.7, experimental): "" (default), "Cluster" or `prefix/value` (rules.py).
    routability: Annotated[str, StringConstraints(max_length=253)] = ""


class LocalParametersReference(Model):
    group: Group
    kind: Kind
    name: ObjectName


class GatewayInfrastructure(Model):
    labels: dict[str, LabelValue] = Field(default_factory=dict)
    annotations: dict[str, AnnotationValue] = Field(default_factory=dict)
    parameters_ref: LocalParametersReference | None = None


class ListenerNamespaces(Model):
    from_: Literal["All", "Selector", "Same", "None"] = Field(default="None", alias="from")
    selector: LabelSelector | None = None


class AllowedListeners(Model):
    namespaces: ListenerNamespaces = Field(default_factory=ListenerNamespaces)


class FrontendTLSValidation(Model):
    ca_certificate_refs: Annotated[tuple[ObjectReference, ...], Field(min_length=1, max_length=16)]
    mode: Literal["AllowValidOnly", "AllowInsecureFallback"] = "AllowValidOnly"


class TLSConfig(Model):
    validation: FrontendTLSValidation | None = None


class TLSPortConfig(Model):
    port: PortNumber
    tls: TLSConfig


class FrontendTLSConfig(Model):
    default: TLSConfig
    per_port: Annotated[tuple[TLSPortConfig, ...], Field(max_length=64)] = ()


class GatewayBackendTLS(Model):
    client_certificate_ref: SecretObjectReference | None = None


class GatewayTLSConfig(Model):
    backend: GatewayBackendTLS | None = None
    frontend: FrontendTLSConfig | None = None


class GatewaySpec(Model):
    gateway_class_name: ObjectName
    listeners: Annotated[tuple[Listener, ...], Field(min_length=1, max_length=64)]
    addresses: Annotated[tuple[GatewaySpecAddress, ...], Field(max_length=16)] = ()
    infrastructure: GatewayInfrastructure | None = None
    allowed_listeners: AllowedListeners | None = None
    tls: GatewayTLSConfig | None = None
    default_scope: Literal["All", "None"] | None = None

    @property
    def listener_namespaces(self) -> ListenerNamespaces:
        """`allowedListeners.namespaces`, defaulting to `from: None` when the field is absent."""
        if self.allowed_listeners is None:
            return ListenerNamespaces()
        return self.allowed_listeners.namespaces


class Gateway(Model):
    api_version: str = f"{GATEWAY_GROUP}/v1"
    kind: Literal["Gateway"] = "Gateway"
    metadata: ObjectMeta
    spec: GatewaySpec


# --- ListenerSet --------------------------------------------------------------------------------


class ParentGatewayReference(Model):
    group: Group = GATEWAY_GROUP
    kind: Kind = "Gateway"
    name: ObjectName
    namespace: NamespaceName | None = None


class ListenerSetSpec(Model):
    parent_ref: ParentGatewayReference
    listeners: Annotated[tuple[Listener, ...], Field(min_length=1, max_length=64)]


class ListenerSet(Model):
    api_version: str = f"{GATEWAY_GROUP}/v1"
    kind: Literal["ListenerSet"] = "ListenerSet"
    metadata: ObjectMeta
    spec: ListenerSetSpec
