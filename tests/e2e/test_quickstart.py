"""The README's quickstart, exactly as a new user runs it: `examples/quickstart/run.py`
starts the demo backends and `hatchway serve`, and the README's curl lines behave as shown."""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.harness import http_request, wait_for

ROOT = Path(__file__).resolve().parents[2]
PORTS = (8080, 19000, 9101, 9102)

pytestmark = pytest.mark.e2e


def _busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    busy = [p for p in PORTS if _busy(p)]
    if busy:
        pytest.skip(f"quickstart ports in use: {busy}")
    log = (tmp_path_factory.mktemp("quickstart") / "run.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "examples/quickstart/run.py")],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: http_request(19000, "/readyz").status == 200, 30, "quickstart /readyz")
        wait_for(lambda: http_request(8080, "/blue").status == 200, 10, "quickstart traffic")
        yield
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_path_header_and_filters(quickstart: None) -> None:
    assert http_request(8080, "/blue").json()["backend"] == "blue"
    assert http_request(8080, "/anything", headers={"x-color": "green"}).json()["backend"] == (
        "green"
    )
    green = http_request(8080, "/green")
    assert green.headers["x-served-by"] == "hatchway"
    root = http_request(8080, "/").json()
    assert root["backend"] == "blue" and root["headers"]["x-gateway"] == "hatchway"


def test_redirect(quickstart: None) -> None:
    r = http_request(8080, "/old")
    assert r.status == 301
    assert r.headers["location"] == "http://127.0.0.1:8080/blue"


def test_weighted_split(quickstart: None) -> None:
    seen = collections.Counter(http_request(8080, "/split").json()["backend"] for _ in range(200))
    # 80/20 split; 200 requests put green within [16, 64] with overwhelming probability.
    assert set(seen) == {"blue", "green"}
    assert 16 <= seen["green"] <= 64, seen


def test_admin_status(quickstart: None) -> None:
    doc = http_request(19000, "/status").json()
    route = next(r for r in doc["resources"] if r["kind"] == "HTTPRoute")
    conds = {c["type"]: c["status"] for c in route["status"]["parents"][0]["conditions"]}
    assert conds == {"Accepted": "True", "ResolvedRefs": "True"}
