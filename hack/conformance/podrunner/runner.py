"""The reconcile loop: bind, start, report, stop. Polls the API server (a few dozen Pods)."""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightkube import ApiError, Client
from lightkube.models.core_v1 import ObjectReference
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Binding, ConfigMap, Node, Pod, Secret

from podrunner.containers import NotReady, Unsupported, plan_pod
from podrunner.network import Bridge, PodNet
from podrunner.process import Container, now_rfc3339

log = logging.getLogger("podrunner")


@dataclass
class RunningPod:
    uid: str
    namespace: str
    name: str
    net: PodNet
    directory: Path
    containers: list[Container]
    ready: bool = False
    reported: tuple[bool, tuple[int, ...]] | None = None
    logs: dict[str, Path] = field(default_factory=dict)


def _port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.3):
            return True
    except OSError:
        return False


class PodRunner:
    def __init__(
        self, client: Client, bridge: Bridge, node: str, state: Path, echo_binary: str
    ) -> None:
        self.client = client
        self.bridge = bridge
        self.node = node
        self.state = state
        self.echo_binary = echo_binary
        self.pods: dict[str, RunningPod] = {}  # by uid
        self.waiting: dict[str, str] = {}  # uid -> why it is not started (logged once)

    # --- node ----------------------------------------------------------------------------

    def register_node(self, kubelet_port: int) -> None:
        body = Node(
            metadata=ObjectMeta(name=self.node, labels={"kubernetes.io/hostname": self.node})
        )
        try:
            self.client.create(body)
        except ApiError as exc:
            if exc.status.code != 409:
                raise
        now = now_rfc3339()
        status = {
            "status": {
                "addresses": [
                    {"type": "InternalIP", "address": self.bridge.gateway},
                    {"type": "Hostname", "address": self.bridge.gateway},
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "KubeletReady",
                        "message": "hatchway conformance pod runner",
                        "lastHeartbeatTime": now,
                        "lastTransitionTime": now,
                    }
                ],
                "capacity": {"cpu": "64", "memory": "64Gi", "pods": "1000"},
                "allocatable": {"cpu": "64", "memory": "64Gi", "pods": "1000"},
            }
        }
        self.client.patch(Node.Status, self.node, status)

    def delete_node(self) -> None:
        with contextlib.suppress(ApiError):
            self.client.delete(Node, self.node)

    # --- loop ----------------------------------------------------------------------------

    def lookup(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            if kind == "Secret":
                body: dict[str, Any] = self.client.get(Secret, name, namespace=namespace).to_dict()
            else:
                body = self.client.get(ConfigMap, name, namespace=namespace).to_dict()
        except ApiError as exc:
            if exc.status.code == 404:
                return None
            raise
        return body

    def log_path(self, namespace: str, pod: str, container: str) -> Path | None:
        for rp in self.pods.values():
            if rp.namespace == namespace and rp.name == pod:
                return rp.logs.get(container)
        return None

    def tick(self) -> None:
        pods = [p.to_dict() for p in self.client.list(Pod, namespace="*")]
        seen: set[str] = set()
        for pod in pods:
            meta = pod["metadata"]
            uid = str(meta["uid"])
            seen.add(uid)
            spec = pod.get("spec") or {}
            if meta.get("deletionTimestamp"):
                if spec.get("nodeName") in (None, self.node):
                    self._finish_deletion(pod)
                continue
            if not spec.get("nodeName"):
                self._bind(pod)
            elif spec["nodeName"] != self.node:
                continue
            elif uid not in self.pods:
                self._start(pod)
            else:
                self._check(self.pods[uid])
        for uid in [u for u in self.pods if u not in seen]:
            self._stop(self.pods.pop(uid))

    def _bind(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        binding = Binding(
            metadata=ObjectMeta(name=meta["name"], namespace=meta["namespace"]),
            target=ObjectReference(apiVersion="v1", kind="Node", name=self.node),
        )
        try:
            self.client.create(binding, namespace=meta["namespace"])
        except ApiError as exc:
            log.warning("binding %s/%s failed: %s", meta["namespace"], meta["name"], exc)
            return
        except ValueError:
            pass  # the API server answers a Status, which lightkube cannot decode as a Binding
        log.info("bound %s/%s", meta["namespace"], meta["name"])

    def _start(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        uid, ns, name = str(meta["uid"]), str(meta["namespace"]), str(meta["name"])
        directory = self.state / "pods" / f"{ns}_{name}_{uid[:8]}"
        directory.mkdir(parents=True, exist_ok=True)
        net = self.bridge.peek()
        try:
            plans = plan_pod(
                pod,
                lookup=self.lookup,
                pod_dir=directory,
                pod_ip=net,
                host_ip=self.bridge.gateway,
                echo_binary=self.echo_binary,
            )
        except (NotReady, Unsupported) as exc:
            if self.waiting.get(uid) != str(exc):
                log.info("%s/%s waits: %s", ns, name, exc)
                self.waiting[uid] = str(exc)
            return
        self.waiting.pop(uid, None)
        podnet = self.bridge.attach()
        assert podnet.address == net
        rp = RunningPod(uid, ns, name, podnet, directory, [])
        for plan in plans:
            log_file = directory / f"{plan.name}.log"
            container = Container(plan, podnet.netns, log_file)
            container.start()
            rp.containers.append(container)
            rp.logs[plan.name] = log_file
        self.pods[uid] = rp
        log.info("started %s/%s at %s (%s)", ns, name, podnet.address, podnet.netns)
        self._check(rp)

    def _check(self, rp: RunningPod) -> None:
        for c in rp.containers:
            if not c.alive():
                log.warning(
                    "%s/%s: container %s exited; restarting", rp.namespace, rp.name, c.plan.name
                )
                c.restart()
        ready = all(
            c.alive() and all(_port_open(rp.net.address, p) for p in c.plan.tcp_ports)
            for c in rp.containers
        )
        state = (ready, tuple(c.restarts for c in rp.containers))
        if state != rp.reported:
            self._report(rp, ready)
            rp.reported = state

    def _report(self, rp: RunningPod, ready: bool) -> None:
        now = now_rfc3339()
        flag = "True" if ready else "False"

        def cond(kind: str, status: str) -> dict[str, str]:
            return {"type": kind, "status": status, "lastTransitionTime": now}

        status = {
            "status": {
                "phase": "Running",
                "hostIP": self.bridge.gateway,
                "hostIPs": [{"ip": self.bridge.gateway}],
                "podIP": rp.net.address,
                "podIPs": [{"ip": rp.net.address}],
                "startTime": rp.containers[0].started_at if rp.containers else now,
                "conditions": [
                    cond("PodScheduled", "True"),
                    cond("PodReadyToStartContainers", "True"),
                    cond("Initialized", "True"),
                    cond("ContainersReady", flag),
                    cond("Ready", flag),
                ],
                "containerStatuses": [
                    {
                        "name": c.plan.name,
                        "ready": ready,
                        "started": c.alive(),
                        "restartCount": c.restarts,
                        "image": "hatchway-conformance/local-process",
                        "imageID": "",
                        "containerID": f"hatchway://{rp.uid}-{c.plan.name}",
                        "state": {"running": {"startedAt": c.started_at}},
                    }
                    for c in rp.containers
                ],
            }
        }
        try:
            self.client.patch(Pod.Status, rp.name, status, namespace=rp.namespace)
            log.info("%s/%s ready=%s", rp.namespace, rp.name, ready)
        except ApiError as exc:
            log.warning("status of %s/%s not written: %s", rp.namespace, rp.name, exc)
            rp.reported = None

    def _finish_deletion(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        rp = self.pods.pop(str(meta["uid"]), None)
        if rp is not None:
            self._stop(rp)
        try:
            self.client.delete(Pod, meta["name"], namespace=meta["namespace"], grace_period=0)
        except ApiError as exc:
            if exc.status.code != 404:
                log.warning("deleting %s/%s: %s", meta["namespace"], meta["name"], exc)

    def _stop(self, rp: RunningPod) -> None:
        for c in rp.containers:
            c.stop()
        self.bridge.detach(rp.net)
        shutil.rmtree(rp.directory / "volumes", ignore_errors=True)
        log.info("stopped %s/%s", rp.namespace, rp.name)

    def stop_all(self) -> None:
        for rp in self.pods.values():
            for c in rp.containers:
                c.signal_stop()
        for uid in list(self.pods):
            self._stop(self.pods.pop(uid))

    def run(self, stop: threading.Event, period: float = 0.3) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except ApiError as exc:
                log.warning("tick failed: %s", exc)
            except Exception:  # one odd object must not stop every Pod
                log.exception("tick failed")
            stop.wait(period)
