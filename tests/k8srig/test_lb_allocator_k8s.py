"""The rig's load-balancer allocator against the real API server (hack/k8s/rig/lb.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest
from lightkube.resources.core_v1 import Event, Service

from cluster import Cluster, wait_for
from k8srig.workloads import apply, delete_namespace, namespace, service

pytestmark = pytest.mark.k8s


@pytest.fixture
def ns(cluster: Cluster) -> Iterator[str]:
    name = namespace(cluster.client, "lb")
    yield name
    delete_namespace(cluster.client, name)


def ingress(cluster: Cluster, ns: str, name: str) -> list[str]:
    svc = cluster.client.get(Service, name, namespace=ns)
    lb = svc.status.loadBalancer if svc.status else None
    return [i.ip for i in (lb.ingress or [])] if lb else []


def test_requested_address_is_assigned_reported_when_unusable_and_freed_on_delete(
    cluster: Cluster, ns: str
) -> None:
    pool = ipaddress.ip_network(cluster.net["RIG_LB_POOL"])
    wanted = str(pool.network_address + 200)
    apply(cluster.client, service(ns, "first", "LoadBalancer", loadBalancerIP=wanted))
    assert wait_for("the requested address", lambda: ingress(cluster, ns, "first"), 30) == [wanted]

    # The same address again, and one outside the pool: no address, a Warning Event each.
    apply(
        cluster.client,
        service(ns, "second", "LoadBalancer", loadBalancerIP=wanted),
        service(ns, "outside", "LoadBalancer", loadBalancerIP="203.0.113.1"),
    )

    def warnings() -> dict[str, Any]:
        events = cluster.client.list(Event, namespace=ns)
        return {
            e.involvedObject.name: e.message
            for e in events
            if e.reason == "AllocationFailed" and e.type == "Warning"
        }

    told = wait_for("two AllocationFailed events", lambda: len(w := warnings()) == 2 and w, 30)
    assert told["second"] == f"requested address {wanted} is in use by Service {ns}/first"
    assert told["outside"] == f"requested address 203.0.113.1 is not in the pool {pool}"
    assert ingress(cluster, ns, "second") == [] and ingress(cluster, ns, "outside") == []

    # Deleting the holder frees the address: the waiting Service gets it.
    cluster.client.delete(Service, "first", namespace=ns)
    assert wait_for("the freed address", lambda: ingress(cluster, ns, "second"), 30) == [wanted]
    # A Service that stops being a LoadBalancer gives its address back and loses the status.
    apply(cluster.client, service(ns, "second", "ClusterIP"))
    wait_for("the status cleared", lambda: not ingress(cluster, ns, "second"), 30)
