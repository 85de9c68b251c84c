"""Edge-proxy safety with hostile requests, through a real Envoy (issue 3 part 6).

Requests are written on raw sockets where a client library would normalize or refuse them.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from e2e.echo import EchoPool
from e2e.rig import Rig, echo, h2c_request, raw_request, raw_status, route, running_rig, svc
from manifests import Doc, prefix, to

pytestmark = pytest.mark.e2e

HOST = "edge.example"
SLOWLORIS_TIMEOUT_S = 10  # xds.hardening.Hardening.request_headers_timeout_s


def routes() -> list[Doc]:
    admin_only: Doc = {
        "matches": [
            {**prefix("/admin"), "headers": [{"name": "x-admin-token", "value": "s3cret"}]}
        ],
        "backendRefs": to("b2"),
    }
    return [
        route(
            "edge",
            [{"matches": [prefix("/public")], "backendRefs": to("b1")}, admin_only],
            hostnames=[HOST],
        ),
        route("any", [{"backendRefs": to("b1")}], hostnames=["any.example"]),
    ]


@dataclass
class Slowloris:
    """Trickles a request head one byte a second; records when the gateway gave up on it."""

    port: int
    started: float = 0.0
    closed_after: float | None = None
    sent: int = 0
    reply: bytes = b""
    thread: threading.Thread = field(init=False)

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.started = time.monotonic()
        self.thread.start()

    def _run(self) -> None:
        head = f"GET /public HTTP/1.1\r\nHost: {HOST}\r\nX-Slow: " + "a" * 100
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
            s.settimeout(1.0)
            for ch in head.encode():  # 130 s worth of bytes: never finishes on its own
                try:
                    s.sendall(bytes([ch]))
                    self.sent += 1
                    data = s.recv(4096)
                    self.reply += data
                    if not data:
                        break
                except TimeoutError:
                    continue  # nothing from the gateway yet: keep trickling
                except OSError:
                    break
                if time.monotonic() - self.started > 3 * SLOWLORIS_TIMEOUT_S:
                    return
        self.closed_after = time.monotonic() - self.started


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, echo_pool: EchoPool) -> Iterator[Rig]:
    services = [*svc("b1", echo(echo_pool, "b1")), *svc("b2", echo(echo_pool, "b2"))]
    tmp: Path = tmp_path_factory.mktemp("edge")
    with running_rig(tmp, routes(), services) as r:
        yield r


@pytest.fixture(scope="module")
def slowloris(rig: Rig) -> Slowloris:
    """Started with the module (first test) so its 10 s wait overlaps the other tests."""
    s = Slowloris(rig.port)
    s.start()
    return s


def get(rig: Rig, target: str, headers: str = "") -> bytes:
    return raw_request(
        rig.port,
        f"GET {target} HTTP/1.1\r\nHost: {HOST}\r\n{headers}Connection: close\r\n\r\n".encode(),
    )


def backend_of(reply: bytes) -> str | None:
    for line in reply.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"x-echo-backend":
            return value.strip().decode()
    return None


def test_routes_work(rig: Rig, slowloris: Slowloris) -> None:
    assert backend_of(get(rig, "/public/x")) == "b1"
    assert raw_status(get(rig, "/admin")) == 404
    assert backend_of(get(rig, "/admin", "x-admin-token: s3cret\r\n")) == "b2"


@pytest.mark.parametrize(
    "target",
    [
        "/public/../admin",
        "/public/./../admin",
        "/public/%2e%2e/admin",
        "/public/%2E%2E/admin",
        "/public/.%2e/admin",
        "/public/..%2fadmin",
        "/public/..%2Fadmin",
        "/public%2f..%2fadmin",
        "/public/..%5cadmin",
        "/public/..\\admin",
        "/public/%252e%252e/admin",
    ],
)
def test_dot_segment_bypass_cannot_reach_admin(rig: Rig, target: str) -> None:
    """Never forwarded to `public` with a path its backend could resolve to /admin, and never
    to `admin` without the token."""
    reply = get(rig, target)
    status = raw_status(reply)
    backend = backend_of(reply)
    if backend == "b1":
        body = reply.split(b"\r\n\r\n", 1)[1]
        path = body.split(b'"path": "', 1)[1].split(b'"', 1)[0].decode()
        # Forwarded to the public backend only as a path that stays under /public.
        assert path.startswith("/public/") and ".." not in path.replace("%252e", ""), path
        assert "admin" not in path or "%25" in path, path
    else:
        assert backend is None, (target, backend)
        assert status in (301, 302, 307, 308, 400, 404), (target, status)


@pytest.mark.parametrize("path", ["/public/../admin", "/public/%2e%2e/admin", "//admin"])
def test_same_normalization_over_h2c(rig: Rig, path: str) -> None:
    headers, _ = h2c_request(rig.port, path, HOST)
    assert headers[":status"] == "404" and "x-echo-backend" not in headers


def test_normalized_path_is_what_the_backend_sees(rig: Rig) -> None:
    body = get(rig, "/public/./a/../b//c?x=../y").split(b"\r\n\r\n", 1)[1]
    assert b'"path": "/public/b/c?x=../y"' in body


def test_merged_slashes(rig: Rig) -> None:
    assert backend_of(get(rig, "//public//x")) == "b1"
    assert raw_status(get(rig, "//admin")) == 404
    assert backend_of(get(rig, "//admin", "x-admin-token: s3cret\r\n")) == "b2"


def test_headers_with_underscores_are_dropped(rig: Rig) -> None:
    reply = get(rig, "/public", "x_admin_token: s3cret\r\nx-ok: 1\r\n")
    assert backend_of(reply) == "b1"
    assert b"x_admin_token" not in reply and b"s3cret" not in reply
    assert b'"x-ok"' in reply
    # and an underscore header cannot stand in for the real one
    assert raw_status(get(rig, "/admin", "x_admin_token: s3cret\r\n")) == 404


def test_oversized_header_is_rejected(rig: Rig) -> None:
    reply = get(rig, "/public", f"x-big: {'a' * 70_000}\r\n")
    assert raw_status(reply) in (0, 431), reply[:100]
    assert backend_of(reply) is None
    # just under the limit is fine
    assert backend_of(get(rig, "/public", f"x-big: {'a' * 30_000}\r\n")) == "b1"


def test_too_many_headers_are_rejected(rig: Rig) -> None:
    many = "".join(f"x-h{i}: v\r\n" for i in range(150))
    reply = get(rig, "/public", many)
    assert raw_status(reply) in (0, 431), reply[:100]
    assert backend_of(reply) is None
    fewer = "".join(f"x-h{i}: v\r\n" for i in range(50))
    assert backend_of(get(rig, "/public", fewer)) == "b1"


def test_x_forwarded_for_is_appended_not_trusted(rig: Rig) -> None:
    spoof = {
        "X-Forwarded-For": "6.6.6.6",
        "X-Envoy-External-Address": "6.6.6.6",
        "X-Envoy-Internal": "true",
    }
    headers = rig.request("/public", HOST, headers=spoof).json()["headers"]
    xff = [h.strip() for v in headers["x-forwarded-for"] for h in v.split(",")]
    # The client's claim is kept (for logs) but the gateway appends the address it saw, which
    # is what a backend must read (0 trusted hops). For a loopback peer Envoy appends its own
    # non-loopback address (documented Envoy behaviour), so only "not the spoof" is checked.
    assert xff[0] == "6.6.6.6" and len(xff) == 2 and xff[-1] != "6.6.6.6", xff
    # The client is external: Envoy's own trust headers are overwritten / stripped.
    assert headers["x-envoy-external-address"] == ["127.0.0.1"]
    assert "x-envoy-internal" not in headers


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-envoy-upstream-rq-timeout-ms", "1"),
        ("x-envoy-upstream-rq-per-try-timeout-ms", "1"),
    ],
)
def test_client_cannot_steer_envoy_timeouts(rig: Rig, header: str, value: str) -> None:
    r = rig.request("/public", HOST, headers={header: value, "x-echo-delay-ms": "150"})
    assert r.status == 200, r.status


def test_client_cannot_ask_for_retries(rig: Rig, echo_pool: EchoPool) -> None:
    b1 = echo_pool.servers["b1"]
    before = b1.requests
    r = rig.request(
        "/public",
        HOST,
        headers={"x-envoy-retry-on": "5xx", "x-envoy-max-retries": "5", "x-echo-status": "500"},
    )
    assert r.status == 500
    assert b1.requests - before == 1  # no amplification onto the backend


def test_slowloris_request_head_times_out(slowloris: Slowloris) -> None:
    slowloris.thread.join(SLOWLORIS_TIMEOUT_S + 10)
    assert not slowloris.thread.is_alive()
    assert slowloris.closed_after is not None, "the gateway never closed the slow connection"
    assert SLOWLORIS_TIMEOUT_S - 1 <= slowloris.closed_after <= SLOWLORIS_TIMEOUT_S + 4
    assert b"x-echo-backend" not in slowloris.reply


# --- request smuggling and Host desync ------------------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        # Both framings: a front end and a back end could disagree on where the body ends.
        "POST /public HTTP/1.1\r\nHost: {host}\r\nContent-Length: 4\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /public HTTP/1.1\r\nHost: {host}\r\nContent-Length: 4\r\n"
        "Content-Length: 40\r\n\r\nabcd",
        "POST /public HTTP/1.1\r\nHost: {host}\r\n"
        "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
        "GET /public HTTP/1.1\r\nHost: {host}\r\nBad Name: x\r\n\r\n",
    ],
    ids=["cl-and-te", "two-content-lengths", "te-not-chunked-last", "space-in-name"],
)
def test_ambiguous_requests_are_rejected(rig: Rig, head: str) -> None:
    reply = raw_request(rig.port, head.format(host=HOST).encode())
    assert raw_status(reply) in (0, 400, 501), reply[:200]  # 501: unknown transfer coding
    assert backend_of(reply) is None


def test_folded_header_is_unfolded_or_rejected(rig: Rig) -> None:
    """RFC 9112 §5.2: reject obs-fold, or replace it by spaces before forwarding (Envoy)."""
    reply = get(rig, "/public", "X-Folded: a\r\n b\r\n")
    assert raw_status(reply) == 400 or b'"x-folded": ["a b"]' in reply, reply[:300]


def test_two_host_headers_match_no_hostname(rig: Rig) -> None:
    """Envoy joins repeated Host headers (`edge.example,any.example`): that value matches
    neither route hostname, so neither host's routes can be reached with it."""
    for hosts in (f"{HOST}\r\nHost: any.example", f"any.example\r\nHost: {HOST}"):
        head = f"GET /public HTTP/1.1\r\nHost: {hosts}\r\nConnection: close\r\n\r\n"
        reply = raw_request(rig.port, head.encode())
        assert raw_status(reply) in (400, 404) and backend_of(reply) is None, reply[:200]


def test_absolute_form_target_routes_and_forwards_one_host(rig: Rig) -> None:
    """`GET http://any.example/x` with `Host: edge.example`: the request-target's authority
    wins (RFC 9112 §3.2.2) for routing AND for what the backend sees, so the two never
    disagree."""
    reply = raw_request(
        rig.port,
        b"GET http://any.example/x HTTP/1.1\r\nHost: edge.example\r\nConnection: close\r\n\r\n",
    )
    assert backend_of(reply) == "b1"
    assert b'"host": "any.example"' in reply
