"""Translation settings and result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hatchway.ir import IR
from hatchway.model.refs import ObjectRef
from hatchway.status import StatusReport

CONTROLLER_NAME = "hatchway.dev/gateway-controller"


@dataclass(frozen=True)
class GatewayAddresses:
    """One Gateway's addresses, as its data plane has them."""

    bind: tuple[str, ...]  # where its listeners bind
    reported: tuple[tuple[str, str], ...]  # status.addresses: (type, value)
    # Requested `spec.addresses` its data plane could not get: Programmed=False/AddressNotUsable.
    unusable: tuple[str, ...] = ()
    # Set while no address is assigned yet (a load balancer still allocating): the reason,
    # for Programmed=False/AddressNotAssigned.
    pending: str | None = None
    # Set while no replica of its data plane is ready (Pods starting): the reason, for
    # Programmed=False/Pending.
    not_ready: str | None = None
    # The routability of `reported` for a Gateway that requests no address (GEP-5093): ""
    # for a load balancer's or a given address, "Cluster" for a Service's ClusterIP.
    routability: str = ""


@dataclass(frozen=True)
class Settings:
    controller_name: str = CONTROLLER_NAME
    # Where listeners bind when a Gateway has no IPAddress `spec.addresses`.
    bind_address: str = "0.0.0.0"
    # What only the runtime can know about the host (the core probes nothing):
    # - the address it assigned to a Gateway, (namespace, name) -> IP, used in place of
    #   `bind_address` when the Gateway names no IPAddress or leaves a value empty;
    assigned_addresses: Mapping[tuple[str, str], str] = field(default_factory=dict)
    # - the IPs / CIDRs listeners can bind here: a `spec.addresses` value outside them gives
    #   the Gateway Programmed=False/AddressNotUsable and is not bound. None: no check.
    usable_addresses: tuple[str, ...] | None = None
    # - the cluster's ServiceCIDRs and, per Gateway, the ClusterIPs it holds (its Service's):
    #   what a `routability: Cluster` address can be (GEP-5093). Empty in standalone mode.
    service_cidrs: tuple[str, ...] = ()
    cluster_ips: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    # - whether ClusterTrustBundles exist here (the API server serves certificates.k8s.io
    #   ClusterTrustBundle; standalone reads them from files): references to them resolve,
    #   and the feature ClusterTrustBundle is claimed, only then (GEP-5075).
    cluster_trust_bundles: bool = True
    # Routes the data plane refused (Envoy rejected what they produced), as
    # (kind, namespace, name) -> Envoy's message: Accepted=False/UnsupportedValue on every
    # parent, and nothing of them is served (the runtime's quarantine).
    refused_routes: Mapping[ObjectRef, str] = field(default_factory=dict)
    # TLS Terminate and Passthrough listeners may share a port (feature TLSRouteModeMixed).
    tls_mode_mixed: bool = True
    # Report rule matches that can never win (warnings only).
    detect_shadowed: bool = True
    # Each Gateway has its own data plane (provisioned proxies): its listeners get sockets of
    # their own (IR listeners carry `owner`), so Gateways never share an address and port.
    per_gateway_sockets: bool = False
    # What the edge knows of each Gateway's addresses, (namespace, name) -> GatewayAddresses;
    # a Gateway not here gets the rule of `bind_address` / `assigned_addresses` /
    # `usable_addresses`. A provisioned data plane binds 0.0.0.0 in its Pods and is reached
    # at its Service's load-balancer addresses.
    gateway_addresses: Mapping[tuple[str, str], GatewayAddresses] = field(default_factory=dict)


@dataclass(frozen=True)
class Translation:
    report: StatusReport
    ir: IR
