"""hack/k8s/down.sh leaves nothing behind: a second full rig (next to the session's, on its
own node network) runs a Pod behind a LoadBalancer, then is torn down."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from lightkube import Client, KubeConfig
from lightkube.resources.core_v1 import Pod, Service

from cluster import ROOT, _free_port, _free_port_pair, _read_env, wait_for
from k8srig.workloads import apply, deployment, echo_container, service

pytestmark = pytest.mark.k8s


def _netns() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmd:
            found.append(f"{pid}: {cmd[:120]}")
    return found


def test_down_removes_processes_namespaces_routes_and_state(tmp_path: Path) -> None:
    state = tmp_path / "rig"
    env = {
        **os.environ,
        "HATCHWAY_K8S_STATE": str(state),
        "HATCHWAY_K8S_FULL": "1",
        "HATCHWAY_K8S_API_PORT": str(_free_port()),
        "HATCHWAY_K8S_ETCD_PORT": str(_free_port_pair()),
        "PYTHON": sys.executable,
    }
    netns_before = _netns()
    mounts_before = len(Path("/proc/self/mountinfo").read_text().splitlines())
    up = subprocess.run(
        [str(ROOT / "hack/k8s/up.sh")], env=env, capture_output=True, text=True, check=False
    )
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        net = _read_env(state / "net.env")
        client = Client(
            KubeConfig.from_file(up.stdout.strip().splitlines()[-1]), field_manager="tests"
        )
        apply(
            client,
            deployment("default", "echo", 1, echo_container()),
            service("default", "echo", "LoadBalancer"),
        )

        def serving() -> bool:
            pods = list(client.list(Pod, namespace="default"))
            svc = client.get(Service, "echo", namespace="default")
            return bool(pods and pods[0].status.podIP and svc.status.loadBalancer.ingress)

        wait_for("the Pod running behind its LB address", serving, 90)
        assert _netns() - netns_before  # the node and the Pod's namespaces exist now
        assert _processes_mentioning(str(state))
    finally:
        down = subprocess.run(
            [str(ROOT / "hack/k8s/down.sh")], env=env, capture_output=True, text=True, check=False
        )
    assert down.returncode == 0, down.stderr
    assert _netns() == netns_before
    assert _processes_mentioning(str(state)) == []
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True, check=True).stdout
    destinations = {line.split()[0] for line in routes.splitlines() if line.strip()}
    for cidr in (net["RIG_POD_CIDR"], net["RIG_SERVICE_CIDR"], net["RIG_LB_POOL"]):
        assert cidr not in destinations, routes
    links = subprocess.run(["ip", "link"], capture_output=True, text=True, check=True).stdout
    assert net["RIG_HOST_LINK"] + "@" not in links
    assert len(Path("/proc/self/mountinfo").read_text().splitlines()) == mounts_before
    assert not state.exists()
