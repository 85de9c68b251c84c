"""The `hatchway` image on the rig, run as the image would run: ENTRYPOINT/USER/WORKDIR from
deploy/Dockerfile, exactly the container's command/args, the Pod's volumes at their real paths
(the ServiceAccount token where in-cluster clients look), the image's non-root user, a
read-only root. What the containers print is read back through the API (pods/log)."""

from __future__ import annotations

import http.client
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import ApiError
from lightkube.resources.core_v1 import Pod, Service

from cluster import Cluster, wait_for
from k8srig.workloads import apply, delete_namespace, namespace

pytestmark = pytest.mark.k8s
ROOT = Path(__file__).resolve().parents[2]

# Printed by a Python inside the image: who it runs as, what it may write, and whether the
# projected ServiceAccount token at the standard path authenticates it to the API server
# through the `kubernetes` Service (ClusterIP -> kube-proxy -> API server).
PROBE = r"""
import json, os, ssl, urllib.request
print("uid", os.getuid(), "gid", os.getgid(), flush=True)
for path in ("/written-by-the-container", "/tmp/scratch"):
    try:
        open(path, "w").close()
        print("writable", path, flush=True)
    except OSError as exc:
        print("not-writable", path, exc.strerror, flush=True)
sa = "/var/run/secrets/kubernetes.io/serviceaccount"
print("sa-files", sorted(f for f in os.listdir(sa) if not f.startswith("..")), flush=True)
host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
req = urllib.request.Request(
    f"https://{host}:{port}/apis/authentication.k8s.io/v1/selfsubjectreviews",
    data=json.dumps(review).encode(),
    headers={
        "Authorization": "Bearer " + open(sa + "/token").read(),
        "Content-Type": "application/json",
    },
    method="POST",
)
ctx = ssl.create_default_context(cafile=sa + "/ca.crt")
user = json.load(urllib.request.urlopen(req, context=ctx, timeout=10))["status"]["userInfo"]
print("whoami", user["username"], "namespace-file", open(sa + "/namespace").read(), flush=True)
"""


@pytest.fixture
def ns(cluster: Cluster) -> Iterator[str]:
    name = namespace(cluster.client, "img")
    yield name
    delete_namespace(cluster.client, name)


def pod(ns: str, name: str, container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"containers": [{"name": name, **container}], **spec},
    }


def finished(cluster: Cluster, ns: str, name: str) -> Any:
    def phase() -> Any:
        p = cluster.client.get(Pod, name, namespace=ns)
        return p if p.status and p.status.phase in ("Succeeded", "Failed") else None

    return wait_for(f"Pod {ns}/{name} to finish", phase, 60)


def logs(cluster: Cluster, ns: str, name: str) -> str:
    return "".join(
        f"{line}\n" if not line.endswith("\n") else line
        for line in cluster.client.log(name, namespace=ns)
    )


def test_args_run_after_the_image_entrypoint(cluster: Cluster, ns: str) -> None:
    apply(
        cluster.client,
        pod(ns, "version", {"image": "hatchway:dev", "args": ["version"]}, restartPolicy="Never"),
    )
    done = finished(cluster, ns, "version")
    assert done.status.phase == "Succeeded", done.status
    assert done.status.containerStatuses[0].state.terminated.exitCode == 0
    local = subprocess.run(
        [str(Path(sys.executable).parent / "hatchway"), "version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert logs(cluster, ns, "version") == local.stdout


def test_image_user_read_only_root_and_service_account_token(cluster: Cluster, ns: str) -> None:
    # No runAsUser: the image's USER (65532) applies; a registry prefix does not matter.
    container = {
        "image": "ghcr.io/example/hatchway:1.2.3",
        "command": ["python3", "-c", PROBE],
        "securityContext": {
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    apply(
        cluster.client,
        pod(
            ns, "probe", container, restartPolicy="Never", volumes=[{"name": "tmp", "emptyDir": {}}]
        ),
    )
    done = finished(cluster, ns, "probe")
    out = logs(cluster, ns, "probe")
    assert done.status.phase == "Succeeded", out
    assert "uid 65532 gid 65532\n" in out  # deploy/Dockerfile: USER 65532:65532
    assert "not-writable /written-by-the-container Read-only file system\n" in out
    assert "writable /tmp/scratch\n" in out
    assert "sa-files ['ca.crt', 'namespace', 'token']\n" in out
    assert f"whoami system:serviceaccount:{ns}:default namespace-file {ns}\n" in out


def test_root_user_is_refused_under_run_as_non_root(cluster: Cluster, ns: str) -> None:
    container = {
        "image": "hatchway:dev",
        "args": ["version"],
        "securityContext": {"runAsUser": 0, "runAsNonRoot": True},
    }
    apply(cluster.client, pod(ns, "root", container, restartPolicy="Never"))

    def waiting() -> Any:
        p = cluster.client.get(Pod, "root", namespace=ns)
        statuses = (p.status.containerStatuses if p.status else None) or []
        return statuses[0].state.waiting if statuses and statuses[0].state.waiting else None

    why = wait_for("the container refused", waiting, 30)
    assert why.reason == "CreateContainerConfigError"
    assert "runAsNonRoot" in why.message


GATEWAY = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "Gateway",
    "metadata": {"name": "edge"},
    "spec": {
        "gatewayClassName": "hatchway",
        "listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}],
    },
}
ROUTE = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": {"name": "moved"},
    "spec": {
        "parentRefs": [{"name": "edge"}],
        "rules": [
            {
                "filters": [
                    {
                        "type": "RequestRedirect",
                        "requestRedirect": {"hostname": "moved.example", "statusCode": 301},
                    }
                ]
            }
        ],
    },
}
CLASS = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "GatewayClass",
    "metadata": {"name": "hatchway"},
    "spec": {"controllerName": "hatchway.dev/gateway-controller"},
}


def test_hatchway_serve_runs_envoy_in_a_pod_behind_a_load_balancer(
    cluster: Cluster, ns: str
) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "gateway", "namespace": ns},
        "data": {"gateway.yaml": yaml.safe_dump_all([CLASS, GATEWAY, ROUTE])},
    }
    container = {
        "image": "hatchway:dev",
        "args": ["serve", "-f", "/etc/hatchway/gateway.yaml", "--envoy-concurrency", "1"],
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 1},
        "securityContext": {"readOnlyRootFilesystem": True},
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/hatchway"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    gateway = pod(
        ns,
        "edge",
        container,
        volumes=[
            {"name": "config", "configMap": {"name": "gateway"}},
            {"name": "tmp", "emptyDir": {}},
        ],
        terminationGracePeriodSeconds=10,
    )
    gateway["metadata"]["labels"] = {"app": "edge"}
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "edge", "namespace": ns},
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": "edge"},
            "ports": [{"port": 80, "targetPort": "http"}],
        },
    }
    apply(cluster.client, config, gateway, svc)

    def address() -> str | None:
        s = cluster.client.get(Service, "edge", namespace=ns)
        return (
            s.status.loadBalancer.ingress[0].ip
            if s.status and s.status.loadBalancer.ingress
            else None
        )

    ip = wait_for("the LB address", address, 30)

    def redirected() -> str | None:
        conn = http.client.HTTPConnection(ip, 80, timeout=3)
        try:
            conn.request("GET", "/some/path")
            resp = conn.getresponse()
            return resp.getheader("location") if resp.status == 301 else None
        except OSError:
            return None
        finally:
            conn.close()

    location = wait_for("Envoy in the Pod answering on the LB address", redirected, 90)
    # The listener port shows through (the Service maps 80 to it), as Gateway API specifies.
    assert location == "http://moved.example:8080/some/path"
    running = cluster.client.get(Pod, "edge", namespace=ns)
    assert running.status.containerStatuses[0].restartCount == 0


WATCH = r"""
import os, time
seen = None
for _ in range(240):
    value = open("/etc/certs/tls.crt").read()
    if value != seen:
        print("now", value, "via", os.readlink("/etc/certs/..data")[:3], flush=True)
        seen = value
    time.sleep(0.25)
"""


def test_a_changed_secret_reaches_the_mounted_files(cluster: Cluster, ns: str) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "certs", "namespace": ns},
        "stringData": {"tls.crt": "first"},
    }
    container = {
        "image": "hatchway:dev",
        "command": ["python3", "-c", WATCH],
        "volumeMounts": [{"name": "certs", "mountPath": "/etc/certs"}],
    }
    watcher = pod(
        ns, "watcher", container, volumes=[{"name": "certs", "secret": {"secretName": "certs"}}]
    )
    apply(cluster.client, secret, watcher)
    wait_for(
        "the first value read",
        lambda: "now first via ..2\n" in logs_or_empty(cluster, ns, "watcher"),
        60,
    )
    secret["stringData"] = {"tls.crt": "rotated"}
    apply(cluster.client, secret)
    # The kubelet's atomic swap (a new ..data target), within the runner's 5 s re-sync.
    wait_for(
        "the rotated value read",
        lambda: "now rotated via ..2\n" in logs_or_empty(cluster, ns, "watcher"),
        30,
    )


def logs_or_empty(cluster: Cluster, ns: str, name: str) -> str:
    try:
        return logs(cluster, ns, name)
    except ApiError:  # not started yet: no log to read
        return ""
