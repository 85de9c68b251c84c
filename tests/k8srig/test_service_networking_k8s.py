"""Real Service networking on the rig: Deployments through kube-controller-manager, Pods run by
the pod runner on the node's bridge, EndpointSlices from KCM, kube-proxy's nftables rules in
the node, LoadBalancer addresses from the rig's allocator; every request is a real connection
from the test process on the host."""

from __future__ import annotations

import ipaddress
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Pod, Service
from lightkube.resources.discovery_v1 import EndpointSlice

from cluster import Cluster, wait_for
from k8srig.workloads import (
    apply,
    delete_namespace,
    deployment,
    echo_container,
    echoed_pod,
    namespace,
    service,
)

pytestmark = pytest.mark.k8s


@pytest.fixture
def ns(cluster: Cluster) -> Iterator[str]:
    name = namespace(cluster.client, "net")
    yield name
    delete_namespace(cluster.client, name)


def ready_pods(cluster: Cluster, ns: str, app: str) -> list[Any]:
    pods = cluster.client.list(Pod, namespace=ns, labels={"app": app})
    return [
        p
        for p in pods
        if p.metadata.deletionTimestamp is None
        and any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or []))
    ]


def lb_address(cluster: Cluster, ns: str, name: str) -> str:
    def ingress() -> str | None:
        svc = cluster.client.get(Service, name, namespace=ns)
        lb = svc.status.loadBalancer if svc.status else None
        return lb.ingress[0].ip if lb and lb.ingress else None

    return str(wait_for(f"a load-balancer address for {ns}/{name}", ingress, 30))


def answers(cluster: Cluster, url: str, count: int) -> Counter[str]:
    seen: Counter[str] = Counter()
    for _ in range(count):
        status, body = cluster.get(url)
        assert status == 200, (url, status, body[:200])
        seen[echoed_pod(body)] += 1
    return seen


def answers_or_none(cluster: Cluster, url: str, count: int) -> Counter[str]:
    try:
        return answers(cluster, url, count)
    except (AssertionError, OSError):
        return Counter()


def test_deployment_behind_load_balancer_answers_on_lb_address_and_cluster_ip(
    cluster: Cluster, ns: str
) -> None:
    apply(
        cluster.client,
        deployment(ns, "echo", 2, echo_container()),
        service(ns, "echo", "LoadBalancer"),
    )
    wait_for("2 ready echo Pods", lambda: len(ready_pods(cluster, ns, "echo")) == 2, 90)
    pods = {p.metadata.name for p in ready_pods(cluster, ns, "echo")}
    address = lb_address(cluster, ns, "echo")
    assert ipaddress.ip_address(address) in ipaddress.ip_network(cluster.net["RIG_LB_POOL"])
    cluster_ip = cluster.client.get(Service, "echo", namespace=ns).spec.clusterIP
    assert ipaddress.ip_address(cluster_ip) in ipaddress.ip_network(cluster.net["RIG_SERVICE_CIDR"])
    for url in (f"http://{address}/", f"http://{cluster_ip}/"):
        # kube-proxy programs both endpoints shortly after the EndpointSlice lists them.
        wait_for(
            f"both Pods behind {url}",
            lambda u=url: set(answers_or_none(cluster, u, 10)) == pods,
            30,
        )
        seen = answers(cluster, url, 40)
        assert set(seen) == pods, f"{url}: requests went to {dict(seen)}, not spread over {pods}"


def test_deleted_pod_is_replaced_and_the_service_keeps_answering(cluster: Cluster, ns: str) -> None:
    # preStop sleep: the Pod keeps serving while its endpoint turns `terminating` and kube-proxy
    # drops it, so no request meets a closed port (what a proxy Deployment's drain relies on).
    echo = echo_container(lifecycle={"preStop": {"sleep": {"seconds": 3}}})
    apply(
        cluster.client,
        deployment(ns, "echo", 2, echo, terminationGracePeriodSeconds=10),
        service(ns, "echo", "LoadBalancer"),
    )
    wait_for("2 ready echo Pods", lambda: len(ready_pods(cluster, ns, "echo")) == 2, 90)
    address = lb_address(cluster, ns, "echo")
    url = f"http://{address}/"
    wait_for(
        "both Pods behind the LB address", lambda: len(answers_or_none(cluster, url, 10)) == 2, 30
    )
    before = {p.metadata.name for p in ready_pods(cluster, ns, "echo")}
    victim = sorted(before)[0]
    cluster.client.delete(Pod, victim, namespace=ns)
    failures: list[str] = []
    seen: Counter[str] = Counter()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # bounded: until the replacement serves, 90 s at most
        try:
            status, body = cluster.get(url)
            if status == 200:
                seen[echoed_pod(body)] += 1
            else:
                failures.append(str(status))
        except OSError as exc:
            failures.append(repr(exc))
        names = {p.metadata.name for p in ready_pods(cluster, ns, "echo")}
        if len(names) == 2 and names - before and seen.keys() & (names - before):
            break
        time.sleep(0.05)
    after = {p.metadata.name for p in ready_pods(cluster, ns, "echo")}
    assert victim not in after and len(after) == 2, after
    assert not failures, f"{len(failures)} failed requests while a Pod was replaced: {failures[:5]}"
    replacement = (after - before).pop()
    assert seen[replacement] > 0, f"the replacement Pod never answered: {dict(seen)}"
    assert set(answers(cluster, url, 30)) == after
    assert cluster.client.get(Deployment, "echo", namespace=ns).status.readyReplicas == 2


def _slice_endpoints(cluster: Cluster, ns: str, svc: str) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for s in cluster.client.list(
        EndpointSlice, namespace=ns, labels={"kubernetes.io/service-name": svc}
    ):
        for e in s.endpoints or []:
            out[e.addresses[0]] = bool(e.conditions and e.conditions.ready)
    return out


def test_failing_readiness_probe_keeps_the_pod_out_of_the_service(
    cluster: Cluster, ns: str
) -> None:
    good = echo_container(
        readinessProbe={"httpGet": {"path": "/", "port": 3000}, "periodSeconds": 1}
    )
    # Nothing listens on 3999: the probe never passes, the container runs on.
    bad = echo_container(readinessProbe={"tcpSocket": {"port": 3999}, "periodSeconds": 1})
    good_dep = deployment(ns, "echo", 1, good)
    bad_dep = deployment(ns, "bad", 1, bad)
    bad_dep["spec"]["template"]["metadata"]["labels"]["serves"] = "echo"
    good_dep["spec"]["template"]["metadata"]["labels"]["serves"] = "echo"
    svc = service(ns, "echo", selector={"serves": "echo"})
    apply(cluster.client, good_dep, bad_dep, svc)
    wait_for("the good Pod ready", lambda: len(ready_pods(cluster, ns, "echo")) == 1, 90)

    def bad_pod() -> Any:
        pods = list(cluster.client.list(Pod, namespace=ns, labels={"app": "bad"}))
        return pods[0] if pods and pods[0].status and pods[0].status.podIP else None

    pod = wait_for("the bad Pod running", bad_pod, 60)
    ip = pod.status.podIP
    slice_ = wait_for(
        "both Pods in the EndpointSlice",
        lambda: (e := _slice_endpoints(cluster, ns, "echo")) and len(e) == 2 and e,
        60,
    )
    time.sleep(4)  # several probe periods: it must stay out
    slice_ = _slice_endpoints(cluster, ns, "echo")
    assert slice_[ip] is False, slice_
    pod = cluster.client.get(Pod, pod.metadata.name, namespace=ns)
    conditions = {c.type: c.status for c in pod.status.conditions}
    assert conditions["Ready"] == "False" and conditions["ContainersReady"] == "False", conditions
    assert pod.status.phase == "Running" and pod.status.containerStatuses[0].state.running
    assert pod.status.containerStatuses[0].ready is False
    cluster_ip = cluster.client.get(Service, "echo", namespace=ns).spec.clusterIP
    wait_for(
        "the ClusterIP answering", lambda: answers_or_none(cluster, f"http://{cluster_ip}/", 1), 30
    )
    assert set(answers(cluster, f"http://{cluster_ip}/", 20)) == {
        p.metadata.name for p in ready_pods(cluster, ns, "echo")
    }


def test_liveness_failure_restarts_the_container(cluster: Cluster, ns: str) -> None:
    live = echo_container(
        livenessProbe={"tcpSocket": {"port": 3999}, "periodSeconds": 1, "failureThreshold": 2}
    )
    apply(cluster.client, deployment(ns, "echo", 1, live, terminationGracePeriodSeconds=1))

    def restarted() -> Any:
        for p in cluster.client.list(Pod, namespace=ns, labels={"app": "echo"}):
            for c in (p.status.containerStatuses if p.status else None) or []:
                if c.restartCount >= 1 and c.lastState.terminated:
                    return c
        return None

    status = wait_for("a restart after failed liveness probes", restarted, 60)
    assert status.lastState.terminated.exitCode != 0


RESOLVE = r"""
import socket, sys
for name in sys.argv[1:]:
    try:
        found = socket.getaddrinfo(name, 80, socket.AF_INET)
    except socket.gaierror:
        print(name, "unresolved", flush=True)
    else:
        print(name, sorted({a[4][0] for a in found}), flush=True)
"""


def test_pods_resolve_service_names_through_the_cluster_dns(cluster: Cluster, ns: str) -> None:
    apply(cluster.client, service(ns, "echo"))
    cluster_ip = cluster.client.get(Service, "echo", namespace=ns).spec.clusterIP
    names = [
        "echo",
        f"echo.{ns}",
        f"echo.{ns}.svc",
        f"echo.{ns}.svc.cluster.local",
        "kubernetes.default",
        "example.com",
    ]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "resolver", "namespace": ns},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "r",
                    "image": "hatchway:dev",
                    "command": ["python3", "-c", RESOLVE, *names],
                }
            ],
        },
    }
    apply(cluster.client, pod)

    def done() -> Any:
        p = cluster.client.get(Pod, "resolver", namespace=ns)
        return p if p.status and p.status.phase in ("Succeeded", "Failed") else None

    assert wait_for("the resolver Pod to finish", done, 60).status.phase == "Succeeded"
    lines = [str(line).rstrip("\n") for line in cluster.client.log("resolver", namespace=ns)]
    kubernetes_ip = cluster.net["RIG_KUBERNETES_SERVICE_IP"]
    assert lines == [
        *(f"{name} ['{cluster_ip}']" for name in names[:4]),
        f"kubernetes.default ['{kubernetes_ip}']",
        "example.com unresolved",  # refused: the rig's DNS forwards nothing off the machine
    ]


# Serves "self" on 8080, then fetches the given URLs (its own Service among them) and prints
# what answered, or the error.
CLIENT = r"""
import http.server, json, sys, threading, time, urllib.request
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"pod": "self"}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
server = http.server.ThreadingHTTPServer(("", 8080), H)
threading.Thread(target=server.serve_forever, daemon=True).start()
for url in sys.argv[1:]:
    ok = 0
    for _ in range(80):  # until 10 answers; errors (before this Pod is Ready) are retried
        try:
            pod = json.load(urllib.request.urlopen(url, timeout=3))["pod"]
            print(url, pod, flush=True)
            ok += 1
            if ok == 10:
                break
        except OSError as exc:
            print(url, "error", exc, flush=True)
            time.sleep(0.5)
"""


def test_pods_reach_services_on_the_same_node_and_themselves(cluster: Cluster, ns: str) -> None:
    apply(cluster.client, deployment(ns, "echo", 2, echo_container()), service(ns, "echo"))
    wait_for("2 ready echo Pods", lambda: len(ready_pods(cluster, ns, "echo")) == 2, 90)
    echo_pods = {p.metadata.name for p in ready_pods(cluster, ns, "echo")}
    url = f"http://echo.{ns}/"
    wait_for(
        "both echo Pods behind the ClusterIP",
        lambda: (
            len(
                answers_or_none(
                    cluster,
                    f"http://{cluster.client.get(Service, 'echo', namespace=ns).spec.clusterIP}/",
                    10,
                )
            )
            == 2
        ),
        30,
    )
    self_svc = service(ns, "self", ports=[{"port": 80, "targetPort": 8080}])
    client = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "client", "namespace": ns, "labels": {"app": "self"}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "c",
                    "image": "hatchway:dev",
                    "command": ["python3", "-c", CLIENT, url, f"http://self.{ns}/"],
                    "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
                }
            ],
        },
    }
    apply(cluster.client, self_svc, client)

    def done() -> Any:
        p = cluster.client.get(Pod, "client", namespace=ns)
        return p if p.status and p.status.phase in ("Succeeded", "Failed") else None

    wait_for("the client Pod to finish", done, 90)
    lines = [str(line).split() for line in cluster.client.log("client", namespace=ns)]
    to_echo = Counter(w[1] for w in lines if w[0] == url and w[1] != "error")
    # Pod -> ClusterIP -> a Pod on the same bridge: the reply is un-NATed (bridge netfilter).
    assert set(to_echo) == echo_pods, lines
    assert sum(to_echo.values()) == 10, lines  # no errors: the echo Pods were ready first
    # Pod -> its own Service -> itself (hairpin). Its first tries may precede its readiness.
    to_self = [w[1] for w in lines if w[0] == f"http://self.{ns}/"]
    assert to_self[-10:] == ["self"] * 10, lines
