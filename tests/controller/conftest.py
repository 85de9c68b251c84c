"""The local cluster rig (hack/k8s) and a `hatchway controller` process, for @pytest.mark.k8s."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from lightkube import Client, KubeConfig

from hatchway.sources.kube import WATCHED, resource_class

ROOT = Path(__file__).resolve().parents[2]
# Per test process, so two runs on one machine never share etcd or ports.
STATE = Path(os.environ.get("HATCHWAY_K8S_STATE", f"/tmp/hatchway-k8s-tests-{os.getpid()}"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rig_ports() -> tuple[int, int]:
    """An API server port and an etcd client port whose peer port (client + 1) is free too
    and is not the API server's."""
    api = free_port()
    while True:
        etcd = free_port()
        if api not in (etcd, etcd + 1) and _free(etcd + 1):
            return api, etcd


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="session")
def kubeconfig() -> Iterator[Path]:
    env = {**os.environ, "HATCHWAY_K8S_STATE": str(STATE), "PYTHON": sys.executable}
    api, etcd = rig_ports()
    env.setdefault("HATCHWAY_K8S_API_PORT", str(api))
    env.setdefault("HATCHWAY_K8S_ETCD_PORT", str(etcd))
    # Never built here: a cold build takes ~15 min, far beyond a test's timeout. `make test`
    # builds it first (`make prepare`), with progress output.
    built = subprocess.run(
        [str(ROOT / "hack/k8s/build.sh"), "--check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        pytest.fail(f"the cluster rig is not built: {built.stderr.strip()} (make prepare)")
    up = subprocess.run(
        [str(ROOT / "hack/k8s/up.sh")], env=env, capture_output=True, text=True, check=False
    )
    try:
        assert up.returncode == 0, f"hack/k8s/up.sh failed:\n{up.stderr}"
        yield Path(up.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run([str(ROOT / "hack/k8s/down.sh")], env=env, check=False)


class ControllerProcess:
    def __init__(
        self,
        kubeconfig: Path,
        log: Path,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.admin = f"127.0.0.1:{free_port()}"
        self.log_path = log
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hatchway.cli.controller",
                "--kubeconfig",
                str(kubeconfig),
                "--admin-address",
                self.admin,
                "--bind-address",
                "127.0.0.1",
                "--data-plane",
                "embedded",
                *args,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        self.wait_http("/healthz", 60)

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://{self.admin}{path}", timeout=2) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def wait_http(self, path: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log_path.read_text()[-3000:]
            try:
                if self.get(path)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(
            f"{path} not 200 after {timeout} s:\n{self.log_path.read_text()[-3000:]}"
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@pytest.fixture
def start_controller(kubeconfig: Path, tmp_path: Path) -> Iterator[object]:
    started: list[ControllerProcess] = []

    def start() -> ControllerProcess:
        c = ControllerProcess(kubeconfig, tmp_path / f"controller-{len(started)}.log")
        started.append(c)
        return c

    yield start
    for c in started:
        c.stop()


ECHO_SERVER = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"echo {sys.argv[2]} {self.path}".encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], 8080), H).serve_forever()
"""


class EchoHost:
    """A test host in its own network namespace, joined to this one by a veth pair.

    The API server refuses loopback EndpointSlice addresses, so endpoints that Envoy can reach
    need an address that is not 127.0.0.0/8: 198.18.0.0/15 is reserved for network testing.
    """

    def __init__(self, index: int) -> None:
        self.netns = f"hw{os.getpid() % 100000}e{index}"
        self.host_if = f"hwh{os.getpid() % 100000}{index}"[:15]
        self.peer_if = f"hwp{os.getpid() % 100000}{index}"[:15]
        self.host_ip = f"198.18.{index}.1"
        self.ip = f"198.18.{index}.2"
        run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
        run("ip", "netns", "add", self.netns)
        run(
            "ip",
            "link",
            "add",
            self.host_if,
            "type",
            "veth",
            "peer",
            "name",
            self.peer_if,
            "netns",
            self.netns,
        )
        run("ip", "addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
        run("ip", "link", "set", self.host_if, "up")
        run("ip", "-n", self.netns, "addr", "add", f"{self.ip}/30", "dev", self.peer_if)
        run("ip", "-n", self.netns, "link", "set", self.peer_if, "up")
        run("ip", "-n", self.netns, "link", "set", "lo", "up")
        self.proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                self.netns,
                sys.executable,
                "-c",
                ECHO_SERVER,
                self.ip,
                f"host{index}",
            ]
        )

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        subprocess.run(["ip", "netns", "del", self.netns], check=False, capture_output=True)


@pytest.fixture
def echo_hosts() -> Iterator[list[EchoHost]]:
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("no `ip netns` here: traffic tests need a network namespace for echo hosts")
    hosts: list[EchoHost] = []
    try:
        hosts = [EchoHost(i) for i in (1, 2)]
        yield hosts
    finally:
        for h in hosts:
            h.close()


RES = {s.kind: resource_class(s, s.versions[0]) for s in WATCHED}


@pytest.fixture
def client(kubeconfig: Path) -> Iterator[Client]:
    c = Client(KubeConfig.from_file(str(kubeconfig)), field_manager="hatchway-tests")
    yield c
    c.close()


@pytest.fixture
def ns(client: Client) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    client.create(RES["Namespace"].from_dict({"metadata": {"name": name}}))
    yield name
    client.delete(RES["Namespace"], name)
