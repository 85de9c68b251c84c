"""Real Envoy: a client that trickles its request body is answered 408 once the HCM
`request_timeout` (hardening) is up; a normal request is untouched. The default (300 s) is
too long to wait for in a test, so the listener here is built with 2 s; the golden files
show the default on every HTTP listener."""

from __future__ import annotations

import dataclasses
import http.server
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hatchway import ir, xds
from test_xds_golden import envoy_binary, static_bootstrap

from .ir_samples import GW, section

pytestmark = pytest.mark.e2e
TIMEOUT_S = 2


class _Upstream(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the trickled request is reset by Envoy mid-body: expected here


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def envoy_port(tmp_path: Path) -> Iterator[int]:
    upstream = _QuietServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = _free_port()
    route = ir.Route(
        name="all",
        origin=ir.Origin("HTTPRoute", "default", "all"),
        match=ir.Match(ir.PathMatch(ir.PathMatchType.PREFIX, "/")),
        action=ir.Forward((ir.WeightedBackend("default/up:80", 1),)),
    )
    vhost = ir.VirtualHost("v", "*", section("http"), (route,))
    chain = ir.FilterChain("http", section("http"), virtual_hosts=(vhost,))
    lis = ir.Listener("x", "127.0.0.1", port, ir.Protocol.HTTP, (chain,), (GW,))
    up = ir.Cluster(
        "default/up:80",
        ir.Origin("Service", "default", "up"),
        80,
        endpoints=(ir.Endpoint("127.0.0.1", upstream.server_address[1]),),
    )
    hardening = dataclasses.replace(xds.DEFAULT_HARDENING, request_timeout_s=TIMEOUT_S)
    resources = xds.build(ir.IR(listeners=(lis,), clusters=(up,)), xds.XdsSettings(hardening))
    config = tmp_path / "bootstrap.json"
    config.write_text(json.dumps(xds.message_to_dict(static_bootstrap(resources))))
    cmd = [envoy_binary(), "-c", str(config), "--concurrency", "1", "-l", "error"]
    proc = subprocess.Popen([*cmd, "--disable-hot-restart"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        upstream.shutdown()


def _post(port: int, body: bytes, every_s: float) -> tuple[bytes, float]:
    """POST `body` one byte per `every_s` seconds (stopping once answered): the status
    line and when it came."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        head = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
        s.sendall(head.encode())
        s.settimeout(every_s or 5)
        for i in range(len(body)):
            s.sendall(body[i : i + 1])
            if every_s:
                try:
                    reply = s.recv(4096)
                    return reply.split(b"\r\n", 1)[0], time.monotonic() - started
                except TimeoutError:
                    continue
        reply = s.recv(4096)
        return reply.split(b"\r\n", 1)[0], time.monotonic() - started


def test_a_trickled_body_is_cut_at_the_request_timeout(envoy_port: int) -> None:
    status, _ = _post(envoy_port, b"hello", every_s=0)
    assert status == b"HTTP/1.1 200 OK"
    status, after = _post(envoy_port, b"x" * 40, every_s=0.25)  # 10 s if let through
    assert status == b"HTTP/1.1 408 Request Timeout"
    assert TIMEOUT_S - 0.5 <= after <= TIMEOUT_S + 2
