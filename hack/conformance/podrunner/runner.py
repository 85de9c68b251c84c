"""The reconcile loop: bind, start, report, terminate. Polls the API server (a few dozen Pods).

Status is written as a kubelet writes it: phase, podIP(s), the five Pod conditions (Ready only
when every container is ready and every readiness gate is True), and per container its state
(waiting/running/terminated), lastState, restartCount, ready and started.
"""

from __future__ import annotations

import logging
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightkube import ApiError, Client
from lightkube.models.authentication_v1 import BoundObjectReference, TokenRequestSpec
from lightkube.models.core_v1 import ObjectReference
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import (
    Binding,
    ConfigMap,
    Node,
    Pod,
    Secret,
    Service,
    ServiceAccountToken,
)

from podrunner.containers import ContainerPlan, plan_pod
from podrunner.env import NotReady, service_env
from podrunner.images import Catalog, Unsupported
from podrunner.network import Bridge, PodNet
from podrunner.process import Container, now_rfc3339
from podrunner.volumes import PodVolumes

log = logging.getLogger("podrunner")
VOLUME_SYNC_PERIOD = 5.0  # s: Secret/ConfigMap changes and token renewals reach the files


@dataclass
class RunningPod:
    uid: str
    namespace: str
    name: str
    net: PodNet
    directory: Path
    volumes: PodVolumes
    containers: list[Container]
    restart_policy: str
    gates: list[str]
    transitions: dict[str, tuple[str, str]] = field(default_factory=dict)
    reported: dict[str, Any] | None = None
    terminating: threading.Thread | None = None
    done: bool = False  # terminated: the loop forgets it
    next_sync: float = 0.0


def _port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.3):
            return True
    except OSError:
        return False


def _phase(containers: list[Container]) -> str:
    ended = [c.terminated() for c in containers]
    if any(c.alive() for c in containers) or any(e is None for e in ended):
        return "Running"
    return "Succeeded" if all(e and e["exitCode"] == 0 for e in ended) else "Failed"


def resolv_conf(pod: dict[str, Any], dns: str | None) -> str | None:
    """A kubelet's /etc/resolv.conf for dnsPolicy ClusterFirst (the default) or None (with
    dnsConfig); None keeps the image's (the host's) for dnsPolicy Default."""
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    config = spec.get("dnsConfig") or {}
    ns = pod["metadata"]["namespace"]
    servers: list[str] = []
    search: list[str] = []
    if policy.startswith("ClusterFirst") and dns:
        servers, search = [dns], [f"{ns}.svc.cluster.local", "svc.cluster.local", "cluster.local"]
    elif policy != "None":
        return None
    servers += [str(s) for s in config.get("nameservers") or []]
    search += [str(s) for s in config.get("searches") or []]
    options = {"ndots": "5"} if policy != "None" else {}
    options.update({str(o["name"]): str(o.get("value", "")) for o in config.get("options") or []})
    lines = [f"nameserver {s}" for s in servers]
    if search:
        lines.append("search " + " ".join(search))
    if options:
        lines.append("options " + " ".join(f"{k}:{v}" if v else k for k, v in options.items()))
    return "\n".join(lines) + "\n"


def hosts_file(pod_ip: str, hostname: str) -> str:
    return (
        f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{pod_ip}\t{hostname}\n"
    )


class PodRunner:
    def __init__(
        self,
        client: Client,
        bridge: Bridge,
        node: str,
        node_ip: str,
        *,
        state: Path,
        catalog: Catalog,
        backoff: tuple[float, float] = (1.0, 60.0),
        dns: str | None = None,
    ) -> None:
        self.client = client
        self.bridge = bridge
        self.node = node
        self.node_ip = node_ip
        self.state = state
        self.catalog = catalog
        self.backoff = backoff
        self.dns = dns
        self.pods: dict[str, RunningPod] = {}  # by uid
        self.waiting: dict[str, str] = {}  # uid -> why it is not started (reported once)

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
        ready = {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "hatchway pod runner",
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
        }
        status = {
            "status": {
                "addresses": [
                    {"type": "InternalIP", "address": self.node_ip},
                    # An address, not a name: the API server dials it for logs (no DNS here).
                    {"type": "Hostname", "address": self.node_ip},
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
                "conditions": [ready],
                "capacity": {"cpu": "64", "memory": "64Gi", "pods": "1000"},
                "allocatable": {"cpu": "64", "memory": "64Gi", "pods": "1000"},
            }
        }
        self.client.patch(Node.Status, self.node, status)

    # --- what Pods read from the API -----------------------------------------------------

    def lookup(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        res = Secret if kind == "Secret" else ConfigMap
        try:
            body: dict[str, Any] = self.client.get(res, name, namespace=namespace).to_dict()
        except ApiError as exc:
            if exc.status.code == 404:
                return None
            raise
        return body

    def token(self, pod: dict[str, Any], audience: str | None, seconds: int) -> tuple[str, float]:
        """A TokenRequest bound to the Pod, as a kubelet makes for a projected token."""
        meta = pod["metadata"]
        ns, name, uid = str(meta["namespace"]), str(meta["name"]), str(meta["uid"])
        sa = str((pod.get("spec") or {}).get("serviceAccountName") or "default")
        request = ServiceAccountToken(
            metadata=ObjectMeta(),
            spec=TokenRequestSpec(
                audiences=[audience] if audience else [],
                expirationSeconds=seconds,
                boundObjectRef=BoundObjectReference(
                    kind="Pod", apiVersion="v1", name=name, uid=uid
                ),
            ),
        )
        try:
            answer = self.client.create(request, sa, namespace=ns)
        except ApiError as exc:
            raise NotReady(f"token for ServiceAccount {ns}/{sa}: {exc.status.message}") from exc
        assert answer.status is not None
        return answer.status.token, answer.status.expirationTimestamp.timestamp()

    def service_env(self, pod: dict[str, Any]) -> dict[str, str]:
        """The `kubernetes` Service always; the namespace's Services unless links are off."""
        services = [s.to_dict() for s in self.client.list(Service, namespace="default")]
        services = [s for s in services if s["metadata"]["name"] == "kubernetes"]
        ns = pod["metadata"]["namespace"]
        if (pod.get("spec") or {}).get("enableServiceLinks", True):
            services += [
                s.to_dict()
                for s in self.client.list(Service, namespace=ns)
                if not (ns == "default" and s.metadata and s.metadata.name == "kubernetes")
            ]
        return service_env(services)

    def log_path(self, namespace: str, pod: str, container: str) -> Path | None:
        for rp in list(self.pods.values()):
            if rp.namespace == namespace and rp.name == pod:
                path = rp.directory / f"{container}.log"
                return path if any(c.plan.name == container for c in rp.containers) else None
        return None

    # --- loop ----------------------------------------------------------------------------

    def tick(self) -> None:
        for uid in [u for u, rp in list(self.pods.items()) if rp.done]:
            self.pods.pop(uid)
        pods = [p.to_dict() for p in self.client.list(Pod, namespace="*")]
        seen: set[str] = set()
        for pod in pods:
            meta = pod["metadata"]
            uid = str(meta["uid"])
            seen.add(uid)
            spec = pod.get("spec") or {}
            if meta.get("deletionTimestamp"):
                if spec.get("nodeName") in (None, self.node):
                    self._delete(pod)
                continue
            if not spec.get("nodeName"):
                self._bind(pod)
            elif spec["nodeName"] != self.node:
                continue
            elif uid not in self.pods:
                self._start(pod)
            else:
                self._check(self.pods[uid], pod)
        for uid in [u for u in self.pods if u not in seen]:
            rp = self.pods[uid]
            if rp.terminating is None:  # deleted without a grace period: stop now
                self._terminate(rp, 2.0, delete=False)
        for uid in [u for u in self.waiting if u not in seen]:
            self.waiting.pop(uid)

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

    def _plan(
        self, pod: dict[str, Any], directory: Path, pod_ip: str
    ) -> tuple[PodVolumes, list[ContainerPlan]]:
        volumes = PodVolumes(pod, self.lookup, self.token, directory, pod_ip, self.node_ip)
        plans = plan_pod(
            pod,
            lookup=self.lookup,
            volumes=volumes.sync(),
            catalog=self.catalog,
            pod_ip=pod_ip,
            host_ip=self.node_ip,
            service_env=self.service_env(pod),
        )
        return volumes, plans

    def _start(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        spec = pod.get("spec") or {}
        uid, ns, name = str(meta["uid"]), str(meta["namespace"]), str(meta["name"])
        directory = self.state / "pods" / f"{ns}_{name}_{uid[:8]}"
        directory.mkdir(parents=True, exist_ok=True)
        pod_ip = self.bridge.peek()
        try:
            volumes, plans = self._plan(pod, directory, pod_ip)
        except (NotReady, Unsupported) as exc:
            self._report_waiting(pod, exc)
            return
        self.waiting.pop(uid, None)
        podnet = self.bridge.attach()
        assert podnet.address == pod_ip
        hostname = str(spec.get("hostname") or name)[:63]
        grace = float(spec.get("terminationGracePeriodSeconds", 30))
        policy = str(spec.get("restartPolicy") or "Always")
        containers = [
            Container(
                plan,
                netns=podnet.netns,
                directory=directory,
                log_path=directory / f"{plan.name}.log",
                pod_ip=pod_ip,
                hosts=hosts_file(pod_ip, hostname),
                hostname=hostname,
                resolv=resolv_conf(pod, self.dns),
                restart_policy=policy,
                grace=grace,
                backoff=self.backoff,
            )
            for plan in plans
        ]
        gates = [str(g["conditionType"]) for g in spec.get("readinessGates") or []]
        rp = RunningPod(uid, ns, name, podnet, directory, volumes, containers, policy, gates)
        rp.next_sync = time.monotonic() + VOLUME_SYNC_PERIOD
        self.pods[uid] = rp
        for c in containers:
            c.start()
        log.info("started %s/%s at %s (%s)", ns, name, podnet.address, podnet.netns)
        self._check(rp, pod)

    def _ready(self, c: Container, rp: RunningPod) -> bool:
        if not c.alive():
            return False
        if c.plan.readiness is not None:
            return c.probe_ok("readiness") is True
        if c.probe_ok("startup") is False:
            return False
        return all(_port_open(rp.net.address, p) for p in c.plan.tcp_ports)

    def _check(self, rp: RunningPod, pod: dict[str, Any]) -> None:
        if rp.terminating is not None:
            return
        if time.monotonic() >= rp.next_sync:
            rp.next_sync = time.monotonic() + VOLUME_SYNC_PERIOD
            try:
                rp.volumes.pod = pod
                rp.volumes.sync()
            except (NotReady, Unsupported, ApiError) as exc:
                log.warning("%s/%s: volumes not refreshed: %s", rp.namespace, rp.name, exc)
        statuses = [c.status(self._ready(c, rp), rp.uid) for c in rp.containers]
        ready = all(s["ready"] for s in statuses)
        current = {
            str(c["type"]): str(c["status"])
            for c in (pod.get("status") or {}).get("conditions") or []
        }
        gates_ok = all(current.get(g) == "True" for g in rp.gates)
        flags = {
            "PodScheduled": True,
            "PodReadyToStartContainers": True,
            "Initialized": True,
            "ContainersReady": ready,
            "Ready": ready and gates_ok,
        }
        status = {
            "phase": _phase(rp.containers),
            "hostIP": self.node_ip,
            "hostIPs": [{"ip": self.node_ip}],
            "podIP": rp.net.address,
            "podIPs": [{"ip": rp.net.address}],
            "conditions": self._conditions(rp, flags),
            "containerStatuses": statuses,
        }
        if status != rp.reported:
            if rp.reported is None:
                status["startTime"] = now_rfc3339()
            self._patch(rp.namespace, rp.name, status)
            rp.reported = status
            log.info("%s/%s %s ready=%s", rp.namespace, rp.name, status["phase"], ready)

    def _conditions(self, rp: RunningPod, flags: dict[str, bool]) -> list[dict[str, str]]:
        out = []
        for kind, flag in flags.items():
            value = "True" if flag else "False"
            if rp.transitions.get(kind, ("", ""))[0] != value:
                rp.transitions[kind] = (value, now_rfc3339())
            out.append(
                {"type": kind, "status": value, "lastTransitionTime": rp.transitions[kind][1]}
            )
        return out

    def _patch(self, ns: str, name: str, status: dict[str, Any]) -> None:
        try:
            self.client.patch(Pod.Status, name, {"status": status}, namespace=ns)
        except ApiError as exc:
            log.warning("status of %s/%s not written: %s", ns, name, exc)

    def _report_waiting(self, pod: dict[str, Any], exc: Exception) -> None:
        meta = pod["metadata"]
        uid, message = str(meta["uid"]), str(exc)
        if self.waiting.get(uid) == message:
            return
        self.waiting[uid] = message
        log.info("%s/%s waits: %s", meta["namespace"], meta["name"], message)
        reason = "ContainerCreating" if isinstance(exc, NotReady) else "CreateContainerConfigError"
        containers = (pod.get("spec") or {}).get("containers") or []
        now = now_rfc3339()
        status = {
            "phase": "Pending",
            "hostIP": self.node_ip,
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "ContainersNotReady",
                    "lastTransitionTime": now,
                },
            ],
            "containerStatuses": [
                {
                    "name": c["name"],
                    "image": c.get("image", ""),
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "state": {"waiting": {"reason": reason, "message": message}},
                }
                for c in containers
            ],
        }
        self._patch(str(meta["namespace"]), str(meta["name"]), status)

    # --- stopping ------------------------------------------------------------------------

    def _delete(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        rp = self.pods.get(str(meta["uid"]))
        if rp is None:
            self._final_delete(str(meta["namespace"]), str(meta["name"]))
        elif rp.terminating is None:
            grace = meta.get("deletionGracePeriodSeconds")
            self._terminate(rp, float(30 if grace is None else grace), delete=True)

    def _terminate(self, rp: RunningPod, grace: float, *, delete: bool) -> None:
        """preStop, SIGTERM, SIGKILL after the grace period, for all containers at once; then
        the network and files go and (`delete`) the Pod object is removed (grace 0)."""
        deadline = time.monotonic() + grace
        log.info("stopping %s/%s (grace %.0f s)", rp.namespace, rp.name, grace)

        def run() -> None:
            stoppers = [
                threading.Thread(target=c.terminate, args=(deadline,)) for c in rp.containers
            ]
            for t in stoppers:
                t.start()
            for t in stoppers:
                t.join()
            self.bridge.detach(rp.net)
            shutil.rmtree(rp.directory, ignore_errors=True)
            rp.done = True
            log.info("stopped %s/%s", rp.namespace, rp.name)
            if delete:
                self._final_delete(rp.namespace, rp.name)

        rp.terminating = threading.Thread(target=run, daemon=True)
        rp.terminating.start()

    def _final_delete(self, ns: str, name: str) -> None:
        try:
            self.client.delete(Pod, name, namespace=ns, grace_period=0)
        except ApiError as exc:
            if exc.status.code != 404:
                log.warning("deleting %s/%s: %s", ns, name, exc)

    def stop_all(self, grace: float = 3.0) -> None:
        for rp in list(self.pods.values()):
            if rp.terminating is None:
                self._terminate(rp, grace, delete=False)
        for rp in list(self.pods.values()):
            if rp.terminating is not None:
                rp.terminating.join(timeout=grace + 10)

    def run(self, stop: threading.Event, period: float = 0.3) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except ApiError as exc:
                log.warning("tick failed: %s", exc)
            except Exception:  # one odd object must not stop every Pod
                log.exception("tick failed")
            stop.wait(period)
