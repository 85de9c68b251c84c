"""Hot reload under load (issue 3 part 8): routes added, edited and removed 50 times while a
few clients hammer the routes that do not change.

Must hold: zero failed requests on unchanged routes (fresh and keep-alive connections), and
a newly added route (to a Service that is new too, so a new cluster) answers without any
5xx as soon as `/readyz` reports the generation that added it.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from e2e.echo import EchoPool
from e2e.harness import http_request
from e2e.rig import Rig, echo, route, running_rig, svc
from manifests import Doc, to

pytestmark = pytest.mark.e2e

EDITS = 50
MIN_DURATION_S = 20.0  # the load runs at least this long
MAX_DURATION_S = 60.0  # and never longer, whatever happens
STABLE = {"stable-a.example": "b1", "stable-b.example": "b2"}


@dataclass
class Load:
    """Client threads; each records requests and failures (never raises)."""

    port: int
    stop: threading.Event = field(default_factory=threading.Event)
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, failure: str | None) -> None:
        with self.lock:
            self.requests += 1
            if failure is not None and len(self.failures) < 50:
                self.failures.append(failure)

    def fresh_connections(self, host: str) -> None:
        deadline = time.monotonic() + MAX_DURATION_S
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                r = http_request(self.port, "/x", host=host, timeout=5)
                got = r.headers.get("x-echo-backend")
                ok = r.status == 200 and got == STABLE[host]
                self.record(None if ok else f"{host}: {r.status} from {got}")
            except (OSError, http.client.HTTPException) as exc:
                self.record(f"{host}: {exc!r}")

    def keep_alive(self, host: str) -> None:
        """One connection reused for every request (a new one only after a failure)."""
        deadline = time.monotonic() + MAX_DURATION_S
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                conn.request("GET", "/ka", headers={"Host": host})
                r = conn.getresponse()
                r.read()
                got = r.getheader("x-echo-backend")
                ok = r.status == 200 and got == STABLE[host]
                self.record(None if ok else f"{host} (keep-alive): {r.status} from {got}")
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                self.record(f"{host} (keep-alive): {exc!r}")
                conn.close()
        conn.close()


def stable_routes() -> list[Doc]:
    return [
        route(host.split(".", maxsplit=1)[0], [{"backendRefs": to(b)}], hostnames=[host])
        for host, b in STABLE.items()
    ]


def dynamic(step: int, backend_of: dict[int, str], pool: EchoPool) -> list[Doc]:
    """The routes file at `step`: dyn-i lives for 3 steps; its Service is new with it."""
    docs = stable_routes()
    for i, target in sorted(backend_of.items()):
        docs += svc(f"dyn-{i}", echo(pool, target))
        docs.append(route(f"dyn-{i}", [{"backendRefs": to(f"dyn-{i}")}], [f"dyn-{i}.example"]))
    return docs


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, echo_pool: EchoPool) -> Iterator[Rig]:
    services = [*svc("b1", echo(echo_pool, "b1")), *svc("b2", echo(echo_pool, "b2"))]
    tmp: Path = tmp_path_factory.mktemp("reload")
    with running_rig(
        tmp,
        stable_routes(),
        services,
    ) as r:
        yield r


def test_hot_reload_under_load(rig: Rig, echo_pool: EchoPool) -> None:
    for name in ("b3", "b4"):
        echo(echo_pool, name)
    load = Load(rig.port)
    threads = [
        threading.Thread(target=load.fresh_connections, args=("stable-a.example",)),
        threading.Thread(target=load.fresh_connections, args=("stable-b.example",)),
        threading.Thread(target=load.keep_alive, args=("stable-a.example",)),
    ]
    for t in threads:
        t.daemon = True
        t.start()
    started = time.monotonic()
    new_route_errors: list[str] = []
    backend_of: dict[int, str] = {}
    try:
        for step in range(EDITS):
            kind = ("add", "edit", "remove")[step % 3]
            # add dyn-step; edit dyn-(step-1) (other backend); remove dyn-(step-2)
            backend_of[step] = "b3"
            if step - 1 in backend_of:
                backend_of[step - 1] = "b4"
            backend_of.pop(step - 2, None)
            rig.apply(dynamic(step, backend_of, echo_pool), timeout=10)
            # The generation is ACKed: the new route must answer at once, the edited one
            # with its new backend, the removed one not at all.
            checks = [(step, "b3")]
            if step - 1 in backend_of:
                checks.append((step - 1, "b4"))
            for i, want in checks:
                r = rig.request("/", f"dyn-{i}.example")
                got = r.headers.get("x-echo-backend")
                if r.status != 200 or got != want:
                    new_route_errors.append(f"step {step} ({kind}) dyn-{i}: {r.status} {got}")
            if step >= 2:
                gone = rig.request("/", f"dyn-{step - 2}.example")
                if gone.status != 404:
                    new_route_errors.append(f"step {step}: removed dyn-{step - 2} -> {gone.status}")
            # Pace the edits over the load period.
            target = started + MIN_DURATION_S * (step + 1) / EDITS
            time.sleep(max(0.0, min(target - time.monotonic(), 1.0)))
    finally:
        load.stop.set()
        for t in threads:
            t.join(10)
    elapsed = time.monotonic() - started
    assert not new_route_errors, new_route_errors
    assert not load.failures, f"{len(load.failures)} failures of {load.requests}: {load.failures}"
    assert elapsed >= MIN_DURATION_S * 0.9
    assert load.requests >= 300, load.requests  # the load was real
    assert rig.generation() >= EDITS + 1
