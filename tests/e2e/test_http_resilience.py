"""Timeouts and retries through a real Envoy (delays and failures steered per request)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.echo import EchoPool
from e2e.harness import free_port
from e2e.rig import Port, RecordingEcho, Rig, recording_echo, route, running_rig, svc, svc_multi
from manifests import Doc, to

pytestmark = pytest.mark.e2e


def fwd(host: str, **rule: object) -> Doc:
    name = host.split(".", maxsplit=1)[0]
    return route(name, [{"backendRefs": to("r1"), **rule}], hostnames=[host])


@pytest.fixture(scope="module")
def backend(echo_pool: EchoPool) -> RecordingEcho:
    return recording_echo(echo_pool, "retry-r1")


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, backend: RecordingEcho) -> Iterator[Rig]:
    routes = [
        fwd("plain.example"),
        fwd("timeout.example", timeouts={"request": "300ms"}),
        fwd("backendtimeout.example", timeouts={"backendRequest": "300ms"}),
        fwd("retry.example", retry={"codes": [500, 502], "attempts": 2, "backoff": "10ms"}),
        route(
            "connerr",
            [{"backendRefs": to("half-dead"), "retry": {"codes": [500], "attempts": 2}}],
            hostnames=["connerr.example"],
        ),
        route("connerr-noretry", [{"backendRefs": to("half-dead")}], ["noretry.example"]),
        fwd("default-attempts.example", retry={"codes": [500]}),
        fwd("no-retries.example", retry={"codes": [500], "attempts": 0}),
        route(
            "connerr-off",
            [{"backendRefs": to("half-dead"), "retry": {"attempts": 0}}],
            hostnames=["connerr-off.example"],
        ),
        fwd("backoff.example", retry={"codes": [500], "attempts": 1, "backoff": "400ms"}),
        fwd("nobackoff.example", retry={"codes": [500], "attempts": 1, "backoff": "1ms"}),
        fwd(
            "retrytimeout.example",
            retry={"codes": [500], "attempts": 2, "backoff": "10ms"},
            timeouts={"request": "3s", "backendRequest": "200ms"},
        ),
    ]
    tmp: Path = tmp_path_factory.mktemp("resilience")
    # One live endpoint and one where nothing listens (connection refused).
    services = [*svc("r1", backend), *svc_multi("half-dead", [backend, Port(free_port())])]
    with running_rig(tmp, routes, services) as r:
        yield r


def unique(prefix: str) -> str:
    return f"/{prefix}/{uuid.uuid4().hex[:8]}"


def timed(rig: Rig, host: str, path: str, delay_ms: int) -> tuple[int, float]:
    t0 = time.monotonic()
    r = rig.request(path, host, headers={"x-echo-delay-ms": str(delay_ms)})
    return r.status, time.monotonic() - t0


def test_no_timeout_configured_waits_for_the_backend(rig: Rig) -> None:
    status, took = timed(rig, "plain.example", "/", 700)
    assert status == 200 and took >= 0.7


@pytest.mark.parametrize("host", ["timeout.example", "backendtimeout.example"])
def test_timeouts_answer_504(rig: Rig, host: str) -> None:
    status, took = timed(rig, host, "/", 1000)
    assert status == 504
    assert 0.25 <= took < 0.9, took  # the 300 ms timeout, not the 1 s backend
    assert timed(rig, host, "/", 10)[0] == 200  # a fast backend is unaffected


def test_listed_code_is_retried(rig: Rig, backend: RecordingEcho) -> None:
    path = unique("r500")
    r = rig.request(path, "retry.example", headers={"x-echo-status": "500"})
    assert r.status == 500  # every attempt failed: the last answer
    assert backend.paths.count(path) == 3  # 1 try + 2 retries


def test_unlisted_code_is_not_retried(rig: Rig, backend: RecordingEcho) -> None:
    path = unique("r503")
    r = rig.request(path, "retry.example", headers={"x-echo-status": "503"})
    assert r.status == 503
    assert backend.paths.count(path) == 1


def test_retry_succeeds(rig: Rig, backend: RecordingEcho) -> None:
    path = unique("flaky")
    r = rig.request(path, "retry.example", headers={"x-echo-fail-first": "2"})
    assert r.status == 200
    assert backend.paths.count(path) == 3


def test_no_retry_without_a_retry_stanza(rig: Rig, backend: RecordingEcho) -> None:
    path = unique("plain")
    r = rig.request(path, "plain.example", headers={"x-echo-fail-first": "1"})
    assert r.status == 500
    assert backend.paths.count(path) == 1


def test_each_attempt_bounded_by_the_backend_timeout(rig: Rig, backend: RecordingEcho) -> None:
    path = unique("slow")
    t0 = time.monotonic()
    r = rig.request(path, "retrytimeout.example", headers={"x-echo-delay-ms": "1000"})
    took = time.monotonic() - t0
    assert r.status == 504
    assert backend.paths.count(path) == 3  # a timed-out attempt is retried
    assert took < 1.5, took  # three 200 ms attempts, not one 1 s wait


def test_connection_errors_are_retried(rig: Rig) -> None:
    # Without retries, the dead endpoint's share fails (503 from Envoy)...
    plain = Counter(rig.request("/", "noretry.example").status for _ in range(20))
    assert plain[503] >= 4, plain
    # ...with a retry stanza the refused connection is retried on the live endpoint.
    retried = Counter(rig.request("/", "connerr.example").status for _ in range(20))
    assert retried == Counter({200: 20}), retried


def test_attempts_default_to_one_retry(rig: Rig, backend: RecordingEcho) -> None:
    """v1.7: `attempts` defaults to 1 (one retry after the first try)."""
    path = unique("default-ok")
    r = rig.request(path, "default-attempts.example", headers={"x-echo-fail-first": "1"})
    assert (r.status, backend.paths.count(path)) == (200, 2)
    path = unique("default-fail")
    r = rig.request(path, "default-attempts.example", headers={"x-echo-fail-first": "2"})
    assert (r.status, backend.paths.count(path)) == (500, 2)


def test_zero_attempts_disable_retries(rig: Rig, backend: RecordingEcho) -> None:
    path = unique("zero")
    r = rig.request(path, "no-retries.example", headers={"x-echo-fail-first": "1"})
    assert (r.status, backend.paths.count(path)) == (500, 1)
    # ...connection errors too: the dead endpoint's share fails.
    off = Counter(rig.request("/", "connerr-off.example").status for _ in range(20))
    assert off[503] >= 4, off


def test_a_request_the_backend_took_is_not_retried(rig: Rig, backend: RecordingEcho) -> None:
    """GEP-1731 (v1.7): only what the backend did not process is retried. A backend that took
    the request and died (reset after the request was sent) may have acted on it."""
    path = unique("reset")
    r = rig.request(path, "retry.example", headers={"x-echo-reset": "1"})
    assert r.status == 503  # Envoy: upstream reset
    assert backend.paths.count(path) == 1


def test_backoff_spaces_the_retries(rig: Rig, backend: RecordingEcho) -> None:
    """`backoff` is the base interval: Envoy waits a random time up to it before the first
    retry (jittered), so ten retried requests with 400 ms take ~2 s more than with 1 ms."""

    def total(host: str) -> float:
        t0 = time.monotonic()
        for _ in range(10):
            r = rig.request(unique("backoff"), host, headers={"x-echo-fail-first": "1"})
            assert r.status == 200
        return time.monotonic() - t0

    slow, fast = total("backoff.example"), total("nobackoff.example")
    assert slow - fast > 0.8, (slow, fast)  # mean 2.0 s, sd 0.37 s: > 0.8 s all but always
