"""The delta ADS state machine, driven with real protos as Envoy would send them."""

from __future__ import annotations

from typing import Any

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.service.discovery.v3 import discovery_pb2

from hatchway.ads.session import DeltaSession
from hatchway.ads.snapshot import XdsSnapshot, from_messages
from hatchway.ads.verdict import AckState
from hatchway.xds import CLUSTER, ENDPOINT, LISTENER, ROUTE

Req = discovery_pb2.DeltaDiscoveryRequest


def snap(
    gen: int,
    clusters: dict[str, int],
    listener_rc: str,
    routes: dict[str, str],
    timeouts: dict[str, int] | None = None,
) -> XdsSnapshot:
    """`clusters`: name -> endpoint port; one listener using route config `listener_rc`;
    `timeouts`: connect timeouts (s) that make a cluster differ while its endpoints do not."""
    by_type: dict[str, dict[str, Any]] = {CLUSTER: {}, ENDPOINT: {}, LISTENER: {}, ROUTE: {}}
    for name, port in clusters.items():
        c = cluster_pb2.Cluster(name=name, type=cluster_pb2.Cluster.EDS)
        if timeouts and name in timeouts:
            c.connect_timeout.seconds = timeouts[name]
        by_type[CLUSTER][name] = c
        cla = endpoint_pb2.ClusterLoadAssignment(cluster_name=name)
        cla.endpoints.add().lb_endpoints.add().endpoint.address.socket_address.port_value = port
        by_type[ENDPOINT][name] = cla
    lis = listener_pb2.Listener(name="l")
    lis.stat_prefix = listener_rc  # any field: the listener changes with its route config
    by_type[LISTENER]["l"] = lis
    for name, cluster in routes.items():
        rc = route_pb2.RouteConfiguration(name=name)
        vh = rc.virtual_hosts.add(name="vh", domains=["*"])
        vh.routes.add().route.cluster = cluster
        by_type[ROUTE][name] = rc
    return from_messages(gen, by_type)


def sent(
    resps: list[discovery_pb2.DeltaDiscoveryResponse],
) -> list[tuple[str, list[str], list[str]]]:
    return [
        (r.type_url.rsplit(".", 1)[-1], [x.name for x in r.resources], list(r.removed_resources))
        for r in resps
    ]


def ack(s: DeltaSession, resps: list[discovery_pb2.DeltaDiscoveryResponse]) -> None:
    for r in resps:
        s.on_request(Req(type_url=r.type_url, response_nonce=r.nonce))


def bring_up(s: DeltaSession) -> None:
    """Envoy's start: wildcard CDS, EDS for the clusters, wildcard LDS, RDS for the listener."""
    s.on_request(Req(type_url=CLUSTER))
    s.on_request(Req(type_url=LISTENER))
    for _ in range(6):
        resps = s.responses()
        for r in resps:
            if r.type_url == CLUSTER:
                s.on_request(
                    Req(type_url=ENDPOINT, resource_names_subscribe=[x.name for x in r.resources])
                )
            if r.type_url == LISTENER:
                s.on_request(
                    Req(type_url=ROUTE, resource_names_subscribe=list(s.target.entries[ROUTE]))
                )
        ack(s, resps)


def test_first_push_orders_clusters_before_listeners() -> None:
    s = DeltaSession(snap(1, {"a": 1}, "r1", {"r1": "a"}))
    s.on_request(Req(type_url=CLUSTER))
    s.on_request(Req(type_url=LISTENER))
    first = s.responses()
    assert sent(first) == [("Cluster", ["a"], [])]  # listeners wait for the cluster
    s.on_request(Req(type_url=ENDPOINT, resource_names_subscribe=["a"]))
    ack(s, first)
    second = s.responses()
    assert sent(second) == [("ClusterLoadAssignment", ["a"], [])]
    ack(s, second)
    third = s.responses()
    assert sent(third) == [("Listener", ["l"], [])]
    assert s.outcome().state is AckState.PENDING
    s.on_request(Req(type_url=ROUTE, resource_names_subscribe=["r1"]))
    ack(s, third)
    fourth = s.responses()
    assert sent(fourth) == [("RouteConfiguration", ["r1"], [])]
    ack(s, fourth)
    assert s.outcome().state is AckState.ACKED and s.acked_generation == 1


def test_empty_wildcard_is_answered() -> None:
    s = DeltaSession(from_messages(1, {}))
    s.on_request(Req(type_url=CLUSTER))
    assert sent(s.responses()) == [("Cluster", [], [])]


def test_endpoint_only_change_is_sent_as_eds_alone() -> None:
    s = DeltaSession(snap(1, {"a": 1}, "r1", {"r1": "a"}))
    bring_up(s)
    assert s.outcome().state is AckState.ACKED
    s.set_target(snap(2, {"a": 2}, "r1", {"r1": "a"}))
    resps = s.responses()
    assert sent(resps) == [("ClusterLoadAssignment", ["a"], [])]
    ack(s, resps)
    assert s.outcome().state is AckState.ACKED and s.acked_generation == 2


def test_updated_cluster_gets_its_endpoints_again() -> None:
    """Envoy re-warms an updated cluster and waits for an EDS response for it, even when
    the endpoints did not change (found by the conformance run: a 15 s stall)."""
    s = DeltaSession(snap(1, {"a": 1, "b": 1}, "r1", {"r1": "a"}))
    bring_up(s)
    s.set_target(snap(2, {"a": 1, "b": 1}, "r1", {"r1": "a"}, timeouts={"a": 3}))
    resps = s.responses()
    assert sent(resps) == [("Cluster", ["a"], []), ("ClusterLoadAssignment", ["a"], [])]
    ack(s, resps)
    assert s.outcome().state is AckState.ACKED and s.acked_generation == 2


def test_old_cluster_removed_only_after_routes_moved() -> None:
    s = DeltaSession(snap(1, {"a": 1}, "r1", {"r1": "a"}))
    bring_up(s)
    s.set_target(snap(2, {"b": 1}, "r1", {"r1": "b"}))
    step1 = s.responses()
    assert sent(step1) == [("Cluster", ["b"], [])]  # add b, keep a
    s.on_request(Req(type_url=ENDPOINT, resource_names_subscribe=["b"]))
    ack(s, step1)
    step2 = s.responses()
    assert sent(step2) == [("ClusterLoadAssignment", ["b"], [])]
    ack(s, step2)
    step3 = s.responses()
    assert sent(step3) == [("RouteConfiguration", ["r1"], [])]  # routes move to b
    ack(s, step3)
    step4 = s.responses()
    assert sent(step4) == [("Cluster", [], ["a"])]  # now a can go
    ack(s, step4)
    assert s.outcome().state is AckState.ACKED


def test_nack_is_attributed_and_blocks_cluster_removal() -> None:
    s = DeltaSession(snap(1, {"a": 1}, "r1", {"r1": "a"}))
    bring_up(s)
    s.set_target(snap(2, {"a": 1}, "r2", {"r2": "a"}))
    resps = s.responses()
    assert sent(resps) == [("Listener", ["l"], [])]
    ack(s, resps)
    s.on_request(
        Req(type_url=ROUTE, resource_names_subscribe=["r2"], resource_names_unsubscribe=["r1"])
    )
    (rds,) = s.responses()
    events = s.on_request(
        Req(
            type_url=ROUTE,
            response_nonce=rds.nonce,
            error_detail={"code": 13, "message": "r2: bad regex"},
        )
    )
    assert [(e.ack, e.rejected, e.message) for e in events] == [(False, ("r2",), "r2: bad regex")]
    out = s.outcome()
    assert out.state is AckState.NACKED
    assert [(r.name, r.message) for r in out.rejected] == [("r2", "r2: bad regex")]
    # The same content is not resent; a fixed one is.
    assert s.responses() == []
    s.set_target(
        snap(
            3,
            {"a": 1},
            "r2",
            {
                "r2": "a",
            },
        )
    )
    assert s.outcome().state is AckState.NACKED  # identical r2 -> still rejected


def test_reconnect_skips_what_envoy_already_has() -> None:
    target = snap(1, {"a": 1}, "r1", {"r1": "a"})
    s = DeltaSession(target)
    versions = target.versions(CLUSTER)
    s.on_request(Req(type_url=CLUSTER, initial_resource_versions=versions))
    (answer,) = s.responses()  # the wildcard is answered, but with nothing to resend
    assert sent([answer]) == [("Cluster", [], [])]
