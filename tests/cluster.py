"""The full cluster rig for tests: `hack/k8s/up.sh` with HATCHWAY_K8S_FULL=1 (etcd, kube-apiserver,
kube-controller-manager, kube-proxy, the load-balancer allocator and the pod runner), once per
session, torn down by `hack/k8s/down.sh`. Use it from a conftest with
`from cluster import cluster  # noqa: F401` and ask for the `cluster` fixture.

Nothing is built here (a cold build takes far longer than a test's timeout): `make prepare`
builds the binaries first; a missing one fails the session with the command to run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client, KubeConfig

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_port_pair() -> int:
    """A port whose successor is free too (etcd's peer port is the client port + 1)."""
    for _ in range(50):
        port = _free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports on loopback")


def _read_env(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if "=" in line]
    return dict(line.split("=", 1) for line in lines)


@dataclass
class Cluster:
    kubeconfig: Path
    state: Path
    net: dict[str, str]  # hack/k8s/nodenet.sh's plan: RIG_LB_POOL, RIG_POD_CIDR, ...
    client: Client

    def get(self, url: str, timeout: float = 3.0) -> tuple[int, bytes]:
        """One HTTP GET from the host (the test process's network namespace)."""
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def log(self, name: str) -> str:
        path = self.state / "logs" / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60, every: float = 0.3) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def _prerequisites(env: dict[str, str]) -> list[str]:
    missing = []
    for cmd in (["hack/k8s/build.sh", "--check"], ["hack/conformance/build.sh", "--check"]):
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            missing.append(out.stderr.strip())
    if shutil.which("nft") is None:
        missing.append("kube-proxy needs the nft command: apt-get install nftables")
    return missing


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    state = Path(f"/tmp/hatchway-cluster-tests-{os.getpid()}")
    env = {
        **os.environ,
        "HATCHWAY_K8S_STATE": str(state),
        "HATCHWAY_K8S_FULL": "1",
        "HATCHWAY_K8S_API_PORT": str(_free_port()),
        "HATCHWAY_K8S_ETCD_PORT": str(_free_port_pair()),
        "PYTHON": sys.executable,
    }
    missing = _prerequisites(env)
    if missing:
        pytest.fail("the cluster rig cannot start: " + "; ".join(missing) + " (make prepare)")
    up = subprocess.run(
        [str(ROOT / "hack/k8s/up.sh")], env=env, capture_output=True, text=True, check=False
    )
    try:
        assert up.returncode == 0, f"hack/k8s/up.sh failed:\n{up.stderr[-4000:]}"
        kubeconfig = Path(up.stdout.strip().splitlines()[-1])
        client = Client(KubeConfig.from_file(kubeconfig), field_manager="hatchway-tests")
        yield Cluster(kubeconfig, state, _read_env(state / "net.env"), client)
    finally:
        subprocess.run([str(ROOT / "hack/k8s/down.sh")], env=env, check=False)
