"""Snapshot: every input object for one translation, immutable and in input order."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from hatchway.model.core import (
    ClusterTrustBundle,
    ConfigMap,
    EndpointSlice,
    Namespace,
    Pod,
    Secret,
    Service,
)
from hatchway.model.gateway import Gateway, GatewayClass, ListenerSet
from hatchway.model.params import GatewayParameters
from hatchway.model.policy import BackendTLSPolicy, ReferenceGrant
from hatchway.model.routes import GRPCRoute, HTTPRoute, TCPRoute, TLSRoute, UDPRoute
from hatchway.model.telemetry import XTelemetryPolicy
from hatchway.model.xbackend import XBackend


@dataclass(frozen=True)
class Snapshot:
    """One tuple per kind; objects keep input order (files sorted by path, documents in order)."""

    gateway_classes: tuple[GatewayClass, ...] = ()
    gateways: tuple[Gateway, ...] = ()
    listener_sets: tuple[ListenerSet, ...] = ()
    http_routes: tuple[HTTPRoute, ...] = ()
    grpc_routes: tuple[GRPCRoute, ...] = ()
    tls_routes: tuple[TLSRoute, ...] = ()
    tcp_routes: tuple[TCPRoute, ...] = ()
    udp_routes: tuple[UDPRoute, ...] = ()
    reference_grants: tuple[ReferenceGrant, ...] = ()
    backend_tls_policies: tuple[BackendTLSPolicy, ...] = ()
    telemetry_policies: tuple[XTelemetryPolicy, ...] = ()
    services: tuple[Service, ...] = ()
    endpoint_slices: tuple[EndpointSlice, ...] = ()
    secrets: tuple[Secret, ...] = ()
    config_maps: tuple[ConfigMap, ...] = ()
    namespaces: tuple[Namespace, ...] = ()
    gateway_parameters: tuple[GatewayParameters, ...] = ()
    xbackends: tuple[XBackend, ...] = ()
    pods: tuple[Pod, ...] = ()
    cluster_trust_bundles: tuple[ClusterTrustBundle, ...] = ()
    # When the edge read these objects (UTC), for what depends on time: a certificate that has
    # expired. None: unknown, nothing is judged by time. Not an object field (see KIND_FIELDS).
    observed_at: datetime | None = None


# The fields that hold objects, one per kind.
KIND_FIELDS = tuple(f.name for f in fields(Snapshot) if f.name != "observed_at")
