"""Connection caps (issue 3, edge-proxy safety): `hatchway serve --max-connections N` lets N
client connections in; the next one is closed at accept while the N keep being served."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.echo import EchoPool
from e2e.rig import Rig, echo, route, running_rig, svc
from manifests import to

pytestmark = pytest.mark.e2e

CAP = 3
HOST = "limits.example"
REQUEST = f"GET /x HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, echo_pool: EchoPool) -> Iterator[Rig]:
    tmp: Path = tmp_path_factory.mktemp("limits")
    services = svc("b1", echo(echo_pool, "b1"))
    routes = [route("r", [{"backendRefs": to("b1")}], hostnames=[HOST])]
    with running_rig(tmp, routes, services, serve_args=["--max-connections", str(CAP)]) as r:
        yield r


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def _keepalive_get(sock: socket.socket) -> int | None:
    """One request on an open connection; its status, or None if the gateway closed it."""
    try:
        sock.sendall(REQUEST)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            body += chunk
        return int(head.split(b" ", 2)[1])
    except (ConnectionResetError, BrokenPipeError, TimeoutError):
        return None


def test_connections_beyond_the_cap_are_closed_and_established_ones_keep_working(
    rig: Rig,
) -> None:
    held = [_connect(rig.port) for _ in range(CAP)]
    try:
        assert [_keepalive_get(s) for s in held] == [200] * CAP
        # The TCP handshake completes in the kernel; Envoy then closes the socket unserved.
        with _connect(rig.port) as extra:
            assert _keepalive_get(extra) is None
        # The established connections are untouched and still served.
        assert [_keepalive_get(s) for s in held] == [200] * CAP
        held.pop().close()
        # A freed slot is usable again (bounded wait: the close reaches Envoy asynchronously).
        deadline = time.monotonic() + 5
        status = None
        while status != 200 and time.monotonic() < deadline:
            with _connect(rig.port) as again:
                status = _keepalive_get(again)
            if status != 200:
                time.sleep(0.1)
        assert status == 200
    finally:
        for s in held:
            s.close()
