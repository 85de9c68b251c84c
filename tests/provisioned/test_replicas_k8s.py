"""Two controller replicas, as the chart runs them: every replica serves xDS, only the leader
writes status. Here the controller's Service sends every proxy to the standby, so the leader
never hears a proxy answer; the Gateway must still become Programmed (from its proxy Pods'
readiness) instead of waiting on the leader for ever."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from lightkube import ApiError
from lightkube.generic_resource import create_namespaced_resource

import manifests
from cluster import Cluster, wait_for

from .conftest import (
    CLASS,
    SYSTEM_NS,
    Controller,
    apply,
    backend,
    controller_service,
    free_pair,
    gateway_status,
    wait_programmed,
)

pytestmark = pytest.mark.k8s

Lease = create_namespaced_resource("coordination.k8s.io", "v1", "Lease", "leases")


def _holder(cluster: Cluster) -> str | None:
    try:
        lease: Any = cluster.client.get(Lease, "hatchway-controller", namespace=SYSTEM_NS)
    except ApiError:  # not created yet
        return None
    return str((lease.to_dict().get("spec") or {}).get("holderIdentity") or "") or None


def _identity(c: Controller) -> str:
    assert c.proc is not None
    return f"{socket.gethostname()}-{c.proc.pid}"


@pytest.fixture(scope="module")
def replicas(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Controller, Controller]]:
    """The leader (started first, and holding the Lease) and a standby; the Service reaches
    only the standby's xDS and certificate ports."""
    standby_port = free_pair()
    apply(cluster, *controller_service(cluster, standby_port))
    logs = tmp_path_factory.mktemp("replicas")
    leader = Controller(cluster, free_pair(), free_pair(), logs / "leader.log")
    leader.service_port = standby_port
    standby = Controller(cluster, standby_port, free_pair(), logs / "standby.log")
    try:
        leader.start()
        wait_for("the first replica to lead", lambda: _holder(cluster) == _identity(leader), 60)
        standby.start()
        yield leader, standby
    finally:
        leader.stop()
        standby.stop()


def test_a_gateway_served_only_by_the_standby_is_programmed_by_the_leader(
    cluster: Cluster, replicas: tuple[Controller, Controller]
) -> None:
    leader, standby = replicas
    ns = "prov-replicas"
    apply(cluster, manifests.namespace(ns), *backend(ns, "echo"))
    apply(
        cluster,
        manifests.http_gateway("web", 80, ns, class_name=CLASS),
        manifests.catch_all_route("web", "web", "echo", ns),
    )
    address = wait_programmed(cluster, ns, "web", 120)
    assert _holder(cluster) == _identity(leader)  # the status came from the leader

    def echo() -> dict[str, Any] | None:
        try:
            status, body = cluster.get(f"http://{address}/")
        except OSError:
            return None
        return json.loads(body) if status == 200 else None

    assert wait_for("traffic through the standby's proxies", echo, 60)["namespace"] == ns
    # The proxies stream from the standby only: the leader has none.
    assert b"(0 proxy streams opened)" in leader.get("/readyz")[1], leader.log()
    assert b"(0 proxy streams opened)" not in standby.get("/readyz")[1], standby.log()
    conditions = {c["type"]: c for c in gateway_status(cluster, ns, "web")["conditions"]}
    assert conditions["Programmed"]["reason"] == "Programmed", conditions
