"""Weighted UDPRoute backends.

Envoy's udp_proxy routes a session to exactly one cluster (its Route has no weighted
clusters). For several valid backends we build one extra cluster holding every backend's
endpoints, one locality per backend whose locality weight is the backendRef weight, with
locality-weighted load balancing: each new UDP session (downstream address) picks a backend in
proportion to the weights. The share of invalid backends is not represented (udp_proxy has no
"drop this session" action); with no valid backend datagrams go to the never-defined cluster.
"""

from __future__ import annotations

from collections.abc import Mapping

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import config_source_pb2
from envoy.config.endpoint.v3 import endpoint_pb2

from hatchway.ir import Cluster, Listener, WeightedBackend
from hatchway.xds import names
from hatchway.xds.resources import CLUSTER, ENDPOINT, ResourceSet


def udp_backends(listener: Listener) -> list[WeightedBackend]:
    """The valid, non-zero-weight backends of the UDP listener's (single) route."""
    chain = listener.chains[0] if listener.chains else None
    backends = chain.l4.backends if chain is not None and chain.l4 is not None else ()
    return [b for b in backends if b.cluster is not None and b.weight > 0]


def udp_target(listener: Listener) -> str:
    """The cluster udp_proxy sends every session to."""
    valid = udp_backends(listener)
    if not valid:
        return names.INVALID_BACKEND_CLUSTER
    if len({b.cluster for b in valid}) == 1:
        return str(valid[0].cluster)
    return f"udp-weighted/{names.listener_name(listener)}"


def build_udp_weighted_cluster(
    listener: Listener, clusters: Mapping[str, Cluster], out: ResourceSet
) -> None:
    """The per-listener cluster behind `udp_target`, when the route has several backends."""
    name = udp_target(listener)
    if not name.startswith("udp-weighted/"):
        return
    c = cluster_pb2.Cluster()
    c.name = name
    c.type = cluster_pb2.Cluster.EDS
    c.eds_cluster_config.eds_config.ads.SetInParent()
    c.eds_cluster_config.eds_config.resource_api_version = config_source_pb2.V3
    c.common_lb_config.locality_weighted_lb_config.SetInParent()
    cla = endpoint_pb2.ClusterLoadAssignment()
    cla.cluster_name = name
    weights: dict[str, int] = {}
    for b in udp_backends(listener):
        weights[str(b.cluster)] = weights.get(str(b.cluster), 0) + b.weight
    origins = [listener.chains[0].listener, *listener.gateways]
    for cluster_name, weight in weights.items():
        ir_cluster = clusters.get(cluster_name)
        if ir_cluster is None or not ir_cluster.endpoints:
            continue  # no endpoints: that backend's share has nowhere to go, Envoy skips it
        origins.append(ir_cluster.service)
        loc = cla.endpoints.add()
        # Distinct localities: Envoy merges endpoints of equal Locality values.
        loc.locality.sub_zone = cluster_name
        loc.load_balancing_weight.value = weight
        for ep in sorted(ir_cluster.endpoints):
            sa = loc.lb_endpoints.add().endpoint.address.socket_address
            sa.address = ep.address
            sa.port_value = ep.port
    if listener.chains[0].l4 is not None:
        origins.append(listener.chains[0].l4.origin)
    unique = tuple(dict.fromkeys(origins))
    out.add(CLUSTER, name, c, unique)
    out.add(ENDPOINT, name, cla, unique)
