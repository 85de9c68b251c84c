"""XBackend (gateway.networking.x-k8s.io/v1alpha1, GEP-4894): a backend a route can name
instead of a Service — an external hostname, or Pods selected by label — with its own TLS
and session persistence. Experimental in Gateway API v1.7; CRD defaults applied here."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from hatchway.model.base import LabelValue, Model, PortNumber, PreciseHostname
from hatchway.model.meta import ObjectMeta, SecretObjectReference
from hatchway.model.policy import BackendTLSPolicyValidation
from hatchway.model.routes import SessionPersistence

XBACKEND_GROUP = "gateway.networking.x-k8s.io"
XBACKEND_KIND = "XBackend"

XBackendProtocol = Literal["TCP", "HTTP", "HTTP2", "HTTP11", "H2C", "MCP", "GRPC", "WSS"]


class ExternalHostname(Model):
    hostname: PreciseHostname


class EndpointSelector(Model):
    """Pods (in the XBackend's namespace) whose labels include all of `matchLabels`."""

    match_labels: Annotated[dict[str, LabelValue], Field(min_length=1, max_length=64)]


class XBackendPort(Model):
    # v1.7: `number` (the CRD's `minProperties: 1` makes it required in effect). The v1.6
    # CRD spelled it `port`, next to a `name`; both spellings are read (rules.py).
    number: PortNumber | None = None
    port: PortNumber | None = None  # v1.6
    name: Annotated[str, StringConstraints(max_length=63)] | None = None  # v1.6, unused

    @property
    def value(self) -> int:
        value = self.number if self.number is not None else self.port
        assert value is not None  # rules.py rejects an XBackend without it
        return value


class XBackendTLS(Model):
    mode: Literal["None", "ServerOnly", "ClientAndServer"]
    client_certificate_ref: SecretObjectReference | None = None
    validation: BackendTLSPolicyValidation | None = None


def _no_tls() -> XBackendTLS:
    return XBackendTLS(mode="None")


class XBackendSpec(Model):
    # Required since v1.7; a v1.6 XBackend (external hostnames only) has none.
    type: Literal["ExternalHostname", "EndpointSelector"] = "ExternalHostname"
    external_hostname: ExternalHostname | None = None
    endpoint_selector: EndpointSelector | None = None
    port: XBackendPort
    protocol: XBackendProtocol | None = None
    session_persistence: SessionPersistence | None = None
    tls: XBackendTLS = Field(default_factory=_no_tls)


class XBackend(Model):
    api_version: str = f"{XBACKEND_GROUP}/v1alpha1"
    kind: Literal["XBackend"] = "XBackend"
    metadata: ObjectMeta
    spec: XBackendSpec
