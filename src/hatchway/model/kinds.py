"""The kinds Hatchway reads: model class, Snapshot field, served apiVersions, scope."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

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
from hatchway.model.meta import GATEWAY_GROUP
from hatchway.model.params import PARAMS_GROUP, GatewayParameters
from hatchway.model.policy import BackendTLSPolicy, ReferenceGrant
from hatchway.model.routes import GRPCRoute, HTTPRoute, TCPRoute, TLSRoute, UDPRoute
from hatchway.model.telemetry import X_GROUP, XTelemetryPolicy
from hatchway.model.xbackend import XBACKEND_GROUP, XBackend

# The Gateway API releases whose CRDs (standard and experimental channels) Hatchway reads:
# v1.7.0 is the one it implements; objects written for the v1.6 CRDs still load (their
# session persistence spelling included).
GATEWAY_API_VERSIONS = ("v1.7.0", "v1.6.1")


@dataclass(frozen=True)
class KindInfo:
    kind: str
    model: type[BaseModel]
    field: str  # Snapshot attribute
    api_versions: frozenset[str]
    namespaced: bool = True


def _gw(*versions: str) -> frozenset[str]:
    return frozenset(f"{GATEWAY_GROUP}/{v}" for v in versions)


# apiVersions: every version the upstream v1.6.1 and v1.7.0 CRDs serve (standard and
# experimental channels). ClusterTrustBundle is GA (v1) since Kubernetes 1.37.
KINDS: dict[str, KindInfo] = {
    info.kind: info
    for info in (
        KindInfo("GatewayClass", GatewayClass, "gateway_classes", _gw("v1", "v1beta1"), False),
        KindInfo("Gateway", Gateway, "gateways", _gw("v1", "v1beta1")),
        KindInfo("ListenerSet", ListenerSet, "listener_sets", _gw("v1")),
        KindInfo("HTTPRoute", HTTPRoute, "http_routes", _gw("v1", "v1beta1")),
        KindInfo("GRPCRoute", GRPCRoute, "grpc_routes", _gw("v1")),
        KindInfo("TLSRoute", TLSRoute, "tls_routes", _gw("v1", "v1alpha2", "v1alpha3")),
        KindInfo("TCPRoute", TCPRoute, "tcp_routes", _gw("v1", "v1alpha2")),
        KindInfo("UDPRoute", UDPRoute, "udp_routes", _gw("v1", "v1alpha2")),
        KindInfo("ReferenceGrant", ReferenceGrant, "reference_grants", _gw("v1", "v1beta1")),
        KindInfo(
            "BackendTLSPolicy", BackendTLSPolicy, "backend_tls_policies", _gw("v1", "v1alpha3")
        ),
        KindInfo(
            "XTelemetryPolicy",
            XTelemetryPolicy,
            "telemetry_policies",
            frozenset({f"{X_GROUP}/v1alpha1"}),
        ),
        KindInfo("Service", Service, "services", frozenset({"v1"})),
        KindInfo(
            "EndpointSlice", EndpointSlice, "endpoint_slices", frozenset({"discovery.k8s.io/v1"})
        ),
        KindInfo("Secret", Secret, "secrets", frozenset({"v1"})),
        KindInfo("ConfigMap", ConfigMap, "config_maps", frozenset({"v1"})),
        KindInfo("Namespace", Namespace, "namespaces", frozenset({"v1"}), False),
        KindInfo("XBackend", XBackend, "xbackends", frozenset({f"{XBACKEND_GROUP}/v1alpha1"})),
        KindInfo("Pod", Pod, "pods", frozenset({"v1"})),
        KindInfo(
            "ClusterTrustBundle",
            ClusterTrustBundle,
            "cluster_trust_bundles",
            frozenset(f"certificates.k8s.io/{v}" for v in ("v1", "v1beta1", "v1alpha1")),
            False,
        ),
        KindInfo(
            "GatewayParameters",
            GatewayParameters,
            "gateway_parameters",
            frozenset({f"{PARAMS_GROUP}/v1alpha1"}),
        ),
    )
}
