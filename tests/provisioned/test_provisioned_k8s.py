"""A data plane per Gateway, for real: provisioned objects, traffic through the Gateway's own
LoadBalancer address to its Envoy Pods, parameters, and clean-up with the Gateway."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Pod, Service, ServiceAccount
from lightkube.resources.policy_v1 import PodDisruptionBudget

import manifests
from cluster import Cluster, wait_for
from manifests import catch_all_route

from .conftest import CLASS, Controller, apply, backend, gateway_status, wait_programmed
from .load import Load

pytestmark = pytest.mark.k8s


def namespace(cluster: Cluster, name: str) -> str:
    apply(cluster, manifests.namespace(name))
    return name


def http_gateway(ns: str, name: str, port: int, **spec: Any) -> dict[str, Any]:
    return manifests.http_gateway(name, port, ns, class_name=CLASS, **spec)


def echo_of(cluster: Cluster, url: str) -> dict[str, Any] | None:
    try:
        status, body = cluster.get(url)
    except OSError:  # not reachable yet
        return None
    return json.loads(body) if status == 200 else None


def test_a_port_80_gateway_serves_on_its_own_address(
    cluster: Cluster, controller: Controller
) -> None:
    ns = namespace(cluster, "prov-basic")
    apply(cluster, *backend(ns, "echo"))
    infra = {"labels": {"team": "shop"}, "annotations": {"owner": "shop@example.com"}}
    apply(
        cluster,
        http_gateway(ns, "web", 80, infrastructure=infra),
        catch_all_route("web", "web", "echo", ns),
    )
    address = wait_programmed(cluster, ns, "web", 120)
    assert address.startswith(cluster.net["RIG_LB_POOL"].rsplit(".", 1)[0]), address
    answer = wait_for("traffic on port 80", lambda: echo_of(cluster, f"http://{address}/"), 60)
    assert answer["namespace"] == ns and answer["pod"].startswith("echo-")

    # The generated objects: in the Gateway's namespace, owned by it, labelled.
    for kind in (ServiceAccount, Deployment, PodDisruptionBudget, Service):
        obj: Any = cluster.client.get(kind, "hatchway-web", namespace=ns)
        labels = obj.metadata.labels
        assert labels["gateway.networking.k8s.io/gateway-name"] == "web"
        assert labels["team"] == "shop" and obj.metadata.annotations["owner"] == "shop@example.com"
        (owner,) = obj.metadata.ownerReferences
        assert (owner.kind, owner.name, owner.controller) == ("Gateway", "web", True)
    svc: Any = cluster.client.get(Service, "hatchway-web", namespace=ns)
    assert [(p.port, str(p.targetPort)) for p in svc.spec.ports] == [(80, "10080")]
    pods = list(cluster.client.list(Pod, namespace=ns, labels={"hatchway.dev/gateway": None}))
    assert len(pods) == 2  # replicas default to 2
    for pod in pods:
        ctx = pod.spec.securityContext
        assert ctx.runAsNonRoot and ctx.runAsUser == 65532
        assert pod.spec.containers[0].securityContext.readOnlyRootFilesystem
        assert pod.metadata.labels["team"] == "shop"

    # Deleted with the Gateway (owner references; the garbage collector).
    from hatchway.sources.kube import WATCHED, resource_class

    spec = next(s for s in WATCHED if s.kind == "Gateway")
    cluster.client.delete(resource_class(spec, "v1"), "web", namespace=ns)
    for kind in (ServiceAccount, Deployment, PodDisruptionBudget, Service):
        wait_for(
            f"{kind.__name__} hatchway-web deleted",
            lambda kind=kind: (
                not list(
                    cluster.client.list(
                        kind, namespace=ns, fields={"metadata.name": "hatchway-web"}
                    )
                )
            ),
            60,
        )


def test_status_says_pending_until_a_proxy_answers(
    cluster: Cluster, controller: Controller
) -> None:
    ns = namespace(cluster, "prov-status")
    apply(cluster, http_gateway(ns, "quiet", 8080))
    wait_programmed(cluster, ns, "quiet", 120)
    status = gateway_status(cluster, ns, "quiet")
    (listener,) = status["listeners"]
    assert listener["name"] == "http"


def _serving_gateway(cluster: Cluster, ns: str, name: str, port: int = 80, **spec: Any) -> str:
    apply(cluster, *backend(ns, "echo"))
    apply(cluster, http_gateway(ns, name, port, **spec), catch_all_route(name, name, "echo", ns))
    address = wait_programmed(cluster, ns, name, 120)
    wait_for("traffic", lambda: echo_of(cluster, f"http://{address}:{port}/"), 60)
    return str(address)


def _proxy_pods(cluster: Cluster, ns: str, name: str) -> list[Any]:
    return [
        p
        for p in cluster.client.list(Pod, namespace=ns, labels={"hatchway.dev/gateway": None})
        if p.metadata.labels.get("gateway.networking.k8s.io/gateway-name") == name
        and p.metadata.deletionTimestamp is None
    ]


def _ready(pod: Any) -> bool:
    conditions = (pod.status.conditions or []) if pod.status else []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def test_deleting_an_envoy_pod_under_load_fails_no_request(
    cluster: Cluster, controller: Controller
) -> None:
    ns = namespace(cluster, "prov-churn")
    address = _serving_gateway(cluster, ns, "web")
    wait_for("both proxies ready", lambda: sum(map(_ready, _proxy_pods(cluster, ns, "web"))) == 2)
    load = Load(address, 80).start()
    time.sleep(5)
    victim = _proxy_pods(cluster, ns, "web")[0].metadata.name
    cluster.client.delete(Pod, victim, namespace=ns)
    load.run_for(15)
    assert load.ok > 200, load
    assert not load.failures, (load.failures, controller.log()[-2000:])
    wait_for(
        "a replacement proxy ready",
        lambda: sum(map(_ready, _proxy_pods(cluster, ns, "web"))) == 2,
        90,
    )


def test_restarting_the_controller_under_load_fails_no_request(
    cluster: Cluster, controller: Controller
) -> None:
    ns = namespace(cluster, "prov-restart")
    address = _serving_gateway(cluster, ns, "web")
    load = Load(address, 80).start()
    time.sleep(3)
    controller.stop()
    time.sleep(4)  # no controller at all: Envoy keeps its configuration
    controller.start()
    load.run_for(13)
    assert load.ok > 200, load
    assert not load.failures, load.failures
    # The restarted controller serves the proxies again (they reconnect over xDS).
    wait_for(
        "proxies connected to the new controller",
        lambda: (
            b"proxy streams opened" in controller.get("/readyz")[1]
            and controller.get("/readyz")[0] == 200
        ),
        60,
    )


def test_scaling_through_parameters_new_pods_serve_once_ready(
    cluster: Cluster, controller: Controller
) -> None:
    ns = namespace(cluster, "prov-scale")
    params = {
        "apiVersion": "hatchway.dev/v1alpha1",
        "kind": "GatewayParameters",
        "metadata": {"name": "small", "namespace": ns},
        "spec": {"replicas": 1},
    }
    apply(cluster, params)
    ref = {"parametersRef": {"group": "hatchway.dev", "kind": "GatewayParameters", "name": "small"}}
    _serving_gateway(cluster, ns, "web", infrastructure=ref)
    wait_for("one proxy", lambda: len(_proxy_pods(cluster, ns, "web")) == 1)
    apply(cluster, {**params, "spec": {"replicas": 3}})
    pods = wait_for(
        "three proxies ready",
        lambda: (p := _proxy_pods(cluster, ns, "web")) and sum(map(_ready, p)) == 3 and p,
        120,
    )
    for pod in pods:
        # Ready means Envoy runs the controller's configuration: it answers at once.
        status, _ = cluster.get(f"http://{pod.status.podIP}:10080/", timeout=2)
        assert status == 200, pod.metadata.name
