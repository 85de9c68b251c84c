"""`hatchway controller --data-plane provisioned` on the full cluster rig: the controller runs
on the host (as it would in a Pod, reached through its Service), every Gateway's proxies run
as real Pods of a real Deployment (the rig's pod runner runs the `hatchway` image), traffic
goes client -> the Gateway's LoadBalancer address -> kube-proxy -> an Envoy Pod -> a backend Pod.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lightkube import codecs
from lightkube.resources.core_v1 import Pod

from cluster import Cluster, cluster, wait_for  # noqa: F401  (the session fixture)
from hatchway.sources.kube import WATCHED, resource_class
from manifests import gateway_class, namespace

ROOT = Path(__file__).resolve().parents[2]
# lightkube's codecs know the Gateway API kinds once their classes exist.
for _spec in WATCHED:
    for _version in _spec.versions:
        resource_class(_spec, _version)
SYSTEM_NS = "hatchway-system"
CLASS = "hatchway"
IMAGE = "hatchway:dev"


def free_pair() -> int:
    """A port P with P+1 free too (xDS on P, certificates on P+1)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("0.0.0.0", 0))
            port = int(s.getsockname()[1])
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports")


def apply(rig: Cluster, *objs: dict[str, Any]) -> None:
    for obj in objs:
        rig.client.apply(codecs.from_dict(obj), force=True)


def controller_service(rig: Cluster, port: int) -> list[dict[str, Any]]:
    """The controller's Service, pointing at the host (where the test runs the controller)."""
    ports = [{"name": "xds", "port": port}, {"name": "certs", "port": port + 1}]
    return [
        namespace(SYSTEM_NS),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "hatchway", "namespace": SYSTEM_NS},
            "spec": {"ports": [{**p, "targetPort": p["port"]} for p in ports]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "hatchway-host",
                "namespace": SYSTEM_NS,
                "labels": {"kubernetes.io/service-name": "hatchway"},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": [rig.net["RIG_HOST_IP"]]}],
            "ports": [{**p, "protocol": "TCP"} for p in ports],
        },
        gateway_class(CLASS),
    ]


@dataclass
class Controller:
    cluster: Cluster
    port: int
    admin: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    service_port: int | None = None  # the Service's xDS port proxies dial (default: `port`)

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "hatchway",
            "controller",
            "--kubeconfig",
            str(self.cluster.kubeconfig),
            "--admin-address",
            f"127.0.0.1:{self.admin}",
            "--xds-listen",
            f"0.0.0.0:{self.port}",
            "--xds-service",
            f"hatchway.{SYSTEM_NS}.svc:{self.service_port or self.port}",
            "--proxy-image",
            IMAGE,
            "--log-level",
            "debug",
        ]
        env = {**os.environ, "POD_NAMESPACE": SYSTEM_NS, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        wait_for("the controller's /healthz", lambda: self.get("/healthz")[0] == 200, 60)

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin}{path}", timeout=3) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except OSError:
            return 0, b""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


@pytest.fixture(scope="module")
def controller(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Controller]:  # noqa: F811
    port = free_pair()
    apply(cluster, *controller_service(cluster, port))
    admin = free_pair()
    c = Controller(cluster, port, admin, tmp_path_factory.mktemp("controller") / "controller.log")
    c.start()
    try:
        yield c
    finally:
        c.stop()


def backend(ns: str, name: str, replicas: int = 1) -> list[dict[str, Any]]:
    """An echo Deployment and its Service (port 80 -> 3000)."""
    labels = {"app": name}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "echo",
                                "image": "registry.k8s.io/gateway-api/echo-basic:v1.5.1",
                                "env": [
                                    {
                                        "name": "POD_NAME",
                                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                                    },
                                    {
                                        "name": "NAMESPACE",
                                        "valueFrom": {
                                            "fieldRef": {"fieldPath": "metadata.namespace"}
                                        },
                                    },
                                ],
                            }
                        ]
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 3000}]},
        },
    ]


def gateway_status(rig: Cluster, ns: str, name: str) -> dict[str, Any]:
    spec = next(s for s in WATCHED if s.kind == "Gateway")
    gw: Any = rig.client.get(resource_class(spec, "v1"), name, namespace=ns)
    return dict(gw.status or {})


def gateway_address(rig: Cluster, ns: str, name: str) -> str | None:
    """The Gateway's first address, once it is Programmed."""
    status = gateway_status(rig, ns, name)
    programmed = any(
        c.get("type") == "Programmed" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    addresses = status.get("addresses") or []
    return str(addresses[0]["value"]) if programmed and addresses else None


def settle() -> None:
    time.sleep(0.5)


def describe(rig: Cluster, *namespaces: str) -> str:
    """What a human would look at when a Gateway does not come up: each namespace's Gateways
    (conditions, addresses), Pods (phase, readiness) and the tail of every container log the
    rig's pod runner kept, then the rig's own logs (pods, load balancer)."""
    spec = next(s for s in WATCHED if s.kind == "Gateway")
    lines: list[str] = []
    for ns in namespaces:
        for gw in rig.client.list(resource_class(spec, "v1"), namespace=ns):
            st: Any = gw.status or {}
            conds = [(c["type"], c["status"], c.get("reason")) for c in st.get("conditions") or []]
            lines.append(f"Gateway {ns}/{gw.metadata.name}: {conds} {st.get('addresses')}")
        for pod in rig.client.list(Pod, namespace=ns):
            ready = [(c.type, c.status) for c in (pod.status.conditions or [])]
            lines.append(f"Pod {ns}/{pod.metadata.name}: {pod.status.phase} {ready}")
        for path in sorted((rig.state / "pods").rglob(f"{ns}_*/*.log")):
            tail = path.read_text(errors="replace").splitlines()[-25:]
            lines += [f"--- {path.parent.name}/{path.name}", *tail]
    for name in ("podrunner", "lb"):
        lines += [f"--- rig {name}.log", *rig.log(name).splitlines()[-25:]]
    return "\n".join(lines)


def wait_programmed(rig: Cluster, ns: str, name: str, timeout: float, *also: str) -> str:
    """The Gateway's address once Programmed; on time-out the failure says why (`describe`)."""
    try:
        return str(
            wait_for(f"Gateway {name} Programmed", lambda: gateway_address(rig, ns, name), timeout)
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{describe(rig, ns, *also)}") from None
