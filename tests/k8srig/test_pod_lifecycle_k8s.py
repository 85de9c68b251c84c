"""Deleting a Pod as a kubelet does: preStop hooks (exec inside the container, httpGet from the
node), then SIGTERM, then SIGKILL when the grace period is over. The containers report to a
listener this test runs on the host's end of the node link (the Pods' default route)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from lightkube import ApiError
from lightkube.resources.core_v1 import Pod

from cluster import Cluster, wait_for
from k8srig.workloads import apply, delete_namespace, namespace

pytestmark = pytest.mark.k8s

# The main process tells the listener when it starts and when SIGTERM arrives, and ignores
# SIGTERM: only the SIGKILL at the end of the grace period stops it.
MAIN = r"""
import signal, socket, sys, time
def tell(msg):
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as s:
        s.sendall(msg.encode())
signal.signal(signal.SIGTERM, lambda *_: tell(sys.argv[3] + ":term"))
tell(sys.argv[3] + ":started")
while True:
    time.sleep(1)
"""


class Listener:
    """Collects (time, message) pairs; answers HTTP requests with 200 and records the path."""

    def __init__(self, address: str) -> None:
        self.sock = socket.create_server((address, 0))
        self.port = self.sock.getsockname()[1]
        self.events: list[tuple[float, str]] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                data = conn.recv(4096).decode(errors="replace")
                if data.startswith("GET "):
                    data = "http:" + data.split()[1]
                    conn.sendall(b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n")
                self.events.append((time.monotonic(), data))

    def seen(self, message: str) -> float | None:
        return next((t for t, m in self.events if m == message), None)


@pytest.fixture
def ns(cluster: Cluster) -> Iterator[str]:
    name = namespace(cluster.client, "life")
    yield name
    delete_namespace(cluster.client, name)


def test_pre_stop_hooks_then_sigterm_then_sigkill_after_the_grace_period(
    cluster: Cluster, ns: str
) -> None:
    host = cluster.net["RIG_HOST_IP"]
    listener = Listener(host)
    port = str(listener.port)
    tell = f"import socket; socket.create_connection(('{host}', {port})).sendall(b'exec-hook')"

    def container(name: str, pre_stop: dict[str, object]) -> dict[str, object]:
        return {
            "name": name,
            "image": "hatchway:dev",
            "command": ["python3", "-c", MAIN, host, port, name],
            "lifecycle": {"preStop": pre_stop},
        }

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "stopper", "namespace": ns},
        "spec": {
            "terminationGracePeriodSeconds": 4,
            "containers": [
                container("a", {"exec": {"command": ["python3", "-c", tell]}}),
                container("b", {"httpGet": {"host": host, "port": listener.port, "path": "/bye"}}),
            ],
        },
    }
    apply(cluster.client, pod)
    wait_for(
        "both containers started",
        lambda: listener.seen("a:started") and listener.seen("b:started"),
        60,
    )
    deleted = time.monotonic()
    cluster.client.delete(Pod, "stopper", namespace=ns)

    def gone() -> bool:
        try:
            cluster.client.get(Pod, "stopper", namespace=ns)
        except ApiError as exc:
            return exc.status.code == 404
        return False

    wait_for("the Pod object removed", gone, 30)
    took = time.monotonic() - deleted
    exec_hook, http_hook = listener.seen("exec-hook"), listener.seen("http:/bye")
    term_a, term_b = listener.seen("a:term"), listener.seen("b:term")
    assert None not in (exec_hook, http_hook, term_a, term_b), listener.events
    assert exec_hook < term_a and http_hook < term_b, listener.events  # type: ignore[operator]
    # Both ignore SIGTERM: only the SIGKILL at the end of the 4 s grace period ends them.
    assert 3.5 <= took < 12, f"deletion took {took:.1f} s with a 4 s grace period"
