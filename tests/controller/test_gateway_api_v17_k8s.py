"""Gateway API v1.7 features that depend on the cluster, against a real API server:
ClusterTrustBundles (GEP-5075: the API server serves them, the controller watches them) and
`routability: Cluster` addresses (GEP-5093: the ClusterIP of the Service in front of Envoy,
`--envoy-service`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from lightkube import Client

from e2e.pki import CA
from manifests import (
    GW_API,
    Doc,
    catch_all_route,
    gateway_class,
    http_gateway,
    parent,
    route,
    service,
)

from .conftest import ControllerProcess, EchoHost, free_port
from .test_controller_k8s import OURS, RES, create, get, summary, wait_for

pytestmark = pytest.mark.k8s

XBACKEND_GROUP = "gateway.networking.x-k8s.io"


def gateway(ns: str, gc: str, name: str, port: int, addresses: list[Doc]) -> Doc:
    return http_gateway(name, port, ns, class_name=gc, addresses=addresses)


def features(client: Client, gc: str) -> set[str]:
    status = get(client, "GatewayClass", None, gc).get("status") or {}
    return {f["name"] for f in status.get("supportedFeatures") or []}


def test_cluster_routability_and_trust_bundles(
    client: Client, ns: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    gc = f"gc-{ns}"
    # The Service in front of Envoy: the API server gives it a ClusterIP from its ServiceCIDR.
    create(client, service("envoy", 80, ns, endpoints=False)[0])
    cluster_ip = get(client, "Service", ns, "envoy")["spec"]["clusterIP"]
    start_controller({"HATCHWAY_ENVOY_SERVICE": f"{ns}/envoy"})
    create(client, gateway_class(gc, OURS))
    port = free_port()
    bodies = [
        gateway(ns, gc, "cluster", port, [{"type": "IPAddress", "routability": "Cluster"}]),
        gateway(
            ns,
            gc,
            "sentinel",
            port,
            [{"type": "IPAddress", "routability": "testing.x-k8s.io/sentinel"}],
        ),
        gateway(
            ns,
            gc,
            "outside",
            port,
            [{"type": "IPAddress", "value": "192.0.2.10", "routability": "Cluster"}],
        ),
    ]
    for body in bodies:
        create(client, body)

    def status(name: str) -> dict[str, Any] | None:
        st = get(client, "Gateway", ns, name).get("status") or {}
        return st if summary(st.get("conditions") or []).get("AddressesAssigned") else None

    cluster = wait_for("the Cluster address", lambda: status("cluster"))
    assert cluster["addresses"] == [
        {"type": "IPAddress", "value": cluster_ip, "routability": "Cluster"}
    ]
    assert summary(cluster["conditions"])["AddressesAssigned"] == ("True", "AddressesAssigned")
    sentinel = wait_for("the sentinel address", lambda: status("sentinel"))
    assert [a["routability"] for a in sentinel["addresses"]] == ["testing.x-k8s.io/sentinel"]
    outside = wait_for("the refused address", lambda: status("outside"))
    assert outside.get("addresses") in (None, [])
    conds = summary(outside["conditions"])
    assert conds["AddressesAssigned"] == ("False", "NotAssigned")
    assert conds["Programmed"] == ("False", "AddressNotAssigned")
    claimed = wait_for("the features", lambda: (f := features(client, gc)) and f)
    assert {
        "GatewayAddressRoutability",
        "GatewayAddressRoutabilityCluster",
        "ClusterTrustBundle",
    } <= claimed

    # A BackendTLSPolicy trusting a ClusterTrustBundle, which the API server serves.
    ca = CA("bundle CA")
    bundle = f"bundle-{ns}"
    create(
        client,
        {
            "apiVersion": "certificates.k8s.io/v1",
            "kind": "ClusterTrustBundle",
            "metadata": {"name": bundle},
            "spec": {"trustBundle": ca.pem},
        },
    )
    for body in (
        *service("secure", 443, ns, port=443, port_name="https", endpoints=False),
        catch_all_route("r", "cluster", "secure", ns, 443),
        {
            "apiVersion": GW_API,
            "kind": "BackendTLSPolicy",
            "metadata": {"namespace": ns, "name": "p"},
            "spec": {
                "targetRefs": [{"group": "", "kind": "Service", "name": "secure"}],
                "validation": {
                    "hostname": "secure.test",
                    "caCertificateRefs": [
                        {
                            "group": "certificates.k8s.io",
                            "kind": "ClusterTrustBundle",
                            "name": bundle,
                        }
                    ],
                },
            },
        },
    ):
        create(client, body)

    def resolved() -> tuple[str, str] | None:
        ancestors = (get(client, "BackendTLSPolicy", ns, "p").get("status") or {}).get(
            "ancestors"
        ) or []
        return summary(ancestors[0]["conditions"]).get("ResolvedRefs") if ancestors else None

    assert wait_for("the policy", lambda: resolved() == ("True", "ResolvedRefs") and resolved())
    # Deleted: the reference is invalid at once (the old anchors are not kept).
    client.delete(RES["ClusterTrustBundle"], bundle)
    wait_for(
        "the policy to lose its bundle", lambda: resolved() == ("False", "InvalidCACertificateRef")
    )


def test_xbackend_endpoints_from_pods(
    client: Client,
    ns: str,
    echo_hosts: list[EchoHost],
    start_controller: Callable[..., ControllerProcess],
) -> None:
    """XBackend endpointSelector in a cluster: the controller watches Pods (XBackend is
    served) and routes to the ready ones whose labels match; readiness changes follow."""
    from lightkube.resources.core_v1 import Pod, ServiceAccount
    from lightkube.types import PatchType

    from .test_traffic_k8s import fetch

    gc = f"gc-{ns}"
    port = free_port()
    start_controller()
    # No controller-manager makes it here; Pod admission wants the namespace's default one.
    client.create(ServiceAccount.from_dict({"metadata": {"namespace": ns, "name": "default"}}))
    for i, host in enumerate(echo_hosts):
        client.create(
            Pod.from_dict(
                {
                    "metadata": {"namespace": ns, "name": f"echo-{i}", "labels": {"app": "echo"}},
                    "spec": {"containers": [{"name": "echo", "image": "echo"}]},
                }
            )
        )
        status = {
            "phase": "Running",
            "podIP": host.ip,
            "podIPs": [{"ip": host.ip}],
            "conditions": [{"type": "Ready", "status": "True"}],
        }
        client.patch(
            Pod.Status, f"echo-{i}", {"status": status}, namespace=ns, patch_type=PatchType.MERGE
        )
    for body in (
        gateway_class(gc, OURS),
        gateway(ns, gc, "gw", port, []),
        {
            "apiVersion": f"{XBACKEND_GROUP}/v1alpha1",
            "kind": "XBackend",
            "metadata": {"namespace": ns, "name": "echo"},
            "spec": {
                "type": "EndpointSelector",
                "endpointSelector": {"matchLabels": {"app": "echo"}},
                "port": {"number": 8080},
            },
        },
        route(
            "HTTPRoute",
            "r",
            [parent("gw")],
            [{"backendRefs": [{"group": XBACKEND_GROUP, "kind": "XBackend", "name": "echo"}]}],
            namespace=ns,
        ),
    ):
        create(client, body)

    def answers() -> set[str]:
        return {fetch(port, "/x").rsplit(" ", 1)[0] for _ in range(12)}

    wait_for("both Pods", lambda: answers() == {"echo host1", "echo host2"})
    not_ready = {"conditions": [{"type": "Ready", "status": "False"}]}
    client.patch(
        Pod.Status, "echo-0", {"status": not_ready}, namespace=ns, patch_type=PatchType.MERGE
    )
    wait_for("only the ready Pod", lambda: answers() == {"echo host2"})


def test_embedded_addresses_enter_through_translation(
    client: Client, ns: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    """A Gateway that requests no address is reported at the Service in front of the
    embedded Envoy (`--envoy-service`): its ClusterIP (routability Cluster) until its load
    balancer has an address, then that one; a change of the Service's status alone is enough."""
    from lightkube.resources.core_v1 import Service
    from lightkube.types import PatchType

    gc = f"gc-{ns}"
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"namespace": ns, "name": "envoy"},
        "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80}]},
    }
    create(client, svc)
    cluster_ip = get(client, "Service", ns, "envoy")["spec"]["clusterIP"]
    controller = start_controller({"HATCHWAY_ENVOY_SERVICE": f"{ns}/envoy"})
    create(client, gateway_class(gc, OURS))
    create(client, gateway(ns, gc, "plain", free_port(), []))

    def addresses() -> list[dict[str, Any]] | None:
        return (get(client, "Gateway", ns, "plain").get("status") or {}).get("addresses")

    first = wait_for("the ClusterIP", addresses)
    assert first == [{"type": "IPAddress", "value": cluster_ip, "routability": "Cluster"}]
    lb = {"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}}
    client.patch(Service.Status, "envoy", lb, namespace=ns, patch_type=PatchType.MERGE)
    assigned = wait_for(
        "the load balancer's address",
        lambda: (a := addresses()) and a[0]["value"] == "203.0.113.9" and a,
    )
    assert [(a["type"], a["value"], a.get("routability", "")) for a in assigned] == [
        ("IPAddress", "203.0.113.9", "")
    ]
    gateway_status = get(client, "Gateway", ns, "plain")["status"]
    assert summary(gateway_status["conditions"])["Programmed"] == ("True", "Programmed")
    # The translation itself says so (the admin API shows what was translated): no status
    # is patched on its way to the API server.
    code, body = controller.get("/status")
    assert code == 200
    shown = next(
        r["status"]
        for r in json.loads(body)["resources"]
        if r["kind"] == "Gateway" and r["metadata"] == {**r["metadata"], "name": "plain"}
    )
    assert shown["addresses"] == assigned
