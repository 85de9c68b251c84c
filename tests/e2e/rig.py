"""One `hatchway serve` shared by a whole test module, plus manifest builders and raw clients.

A module builds its configuration once (one hostname per test keeps tests from seeing each
other's routes), or rewrites the routes file and waits until Envoy ACKed the new generation
(`Rig.apply`). Every wait has a deadline and every socket a timeout.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events

import manifests
from e2e.echo import EchoPool, EchoServer, Request
from e2e.harness import Hatchway, Response, free_port, http_request, write_yaml
from manifests import Doc, gateway, gateway_class, listener

GW = "gw"  # the Gateway every rig creates


class Rig:
    """A running gateway: `port` (and `extra_ports`) are its HTTP listeners' ports."""

    def __init__(self, hw: Hatchway, config: Path, port: int, extra_ports: list[int]) -> None:
        self.hw = hw
        self.config = config
        self.port = port
        self.extra_ports = extra_ports
        self._written: dict[str, str] = {}

    def request(self, path: str = "/", host: str = "example.com", **kw: Any) -> Response:
        port = kw.pop("port", self.port)
        return http_request(port, path, host=host, **kw)

    def backend(self, path: str = "/", host: str = "example.com", **kw: Any) -> str | None:
        """Which echo backend answered (None when Envoy answered by itself)."""
        r = self.request(path, host, **kw)
        return r.headers.get("x-echo-backend")

    def generation(self) -> int:
        return int(self.hw.readyz().json()["generation"])

    def apply(self, docs: Iterable[Doc], file: str = "routes.yaml", timeout: float = 10) -> int:
        """Replace `file` and wait until Envoy runs the generation built from it."""
        docs = list(docs)
        text = _dump(docs)
        if self._written.get(file) == text:
            return self.generation()
        before = self.generation()
        write_yaml(self.config / file, docs)
        self._written[file] = text
        return self.wait_generation(before + 1, timeout)

    def wait_generation(self, at_least: int, timeout: float = 10) -> int:
        from e2e.harness import wait_for

        def acked() -> int | None:
            r = self.hw.readyz()
            gen = int(r.json()["generation"])
            return gen if r.status == 200 and gen >= at_least else None

        try:
            return wait_for(acked, timeout, f"/readyz 200 at generation >= {at_least}")
        except AssertionError as exc:
            errors = self.hw.admin("/errors").json()
            raise AssertionError(f"{exc}\nerrors: {errors}\n{self.hw.log(30)}") from None


def _dump(docs: Iterable[Doc]) -> str:
    return ",\n".join(json.dumps(d, sort_keys=True) for d in docs)


@contextmanager
def running_rig(
    tmp: Path,
    routes: Iterable[Doc],
    services: Iterable[Doc] = (),
    listeners: list[Doc] | None = None,
    extra_listener_ports: int = 0,
    serve_args: Sequence[str] = (),
) -> Iterator[Rig]:
    """Start `hatchway serve` with one Gateway `gw` and the given objects; stop it afterwards.

    `listeners`: the Gateway's listeners with `port` left out (filled with the rig's port);
    default one catch-all HTTP listener. `extra_listener_ports` more catch-all HTTP listeners
    on further free ports (for listener-port rules). `serve_args`: more `hatchway serve` flags.
    """
    config = tmp / "config"
    config.mkdir()
    port = free_port()
    extra = [free_port() for _ in range(extra_listener_ports)]
    lis = [{**entry, "port": entry.get("port", port)} for entry in (listeners or [listener()])]
    lis += [listener(f"extra-{i}", p) for i, p in enumerate(extra)]
    gw = gateway(GW, lis)
    write_yaml(config / "gateway.yaml", [gateway_class(), gw])
    write_yaml(config / "services.yaml", list(services))
    write_yaml(config / "routes.yaml", list(routes))
    hw = Hatchway(config, tmp / "hatchway.log", serve_args)
    try:
        hw.start()
        yield Rig(hw, config, port, extra)
    finally:
        if hw.proc is not None and hw.proc.poll() is None:
            hw.stop()


# --- manifests bound to the rig's Gateway ----------------------------------------------------


def route(
    name: str,
    rules: list[Doc],
    hostnames: Iterable[str] = (),
    section: str | None = None,
    created: str | None = None,
    namespace: str = "default",
    port: int | None = None,
) -> Doc:
    """An HTTPRoute attached to the rig's Gateway (`section`, `port`: of its parentRef)."""
    ref = manifests.parent(GW, section, namespace="default")
    if port is not None:
        ref["port"] = port
    return manifests.route("HTTPRoute", name, [ref], rules, hostnames, namespace, created)


class Port:
    """Where something listens (or nothing does): enough for `svc` and `svc_multi`."""

    def __init__(self, port: int) -> None:
        self.port = port


def svc(
    name: str,
    server: EchoServer | Port | None,
    app_protocol: str | None = None,
    ready: bool = True,
) -> list[Doc]:
    """A Service (port 80) and its EndpointSlice: one loopback endpoint at `server`'s port.

    `server=None` gives a Service without any EndpointSlice; `ready=False` a not-ready endpoint.
    """
    target = server.port if server else 8080
    return manifests.service(
        name, target, app_protocol=app_protocol, ready=ready, endpoints=server is not None
    )


def svc_multi(name: str, servers: Iterable[EchoServer | Port]) -> list[Doc]:
    """A Service whose endpoints are all `servers` (one EndpointSlice each: their ports differ)."""
    servers = list(servers)
    docs = svc(name, servers[0])
    for i, server in enumerate(servers[1:], start=2):
        extra = svc(name, server)[1]
        extra["metadata"]["name"] = f"{name}-{i}"
        docs.append(extra)
    return docs


class RecordingEcho(EchoServer):
    """An echo server that also remembers the request-URIs it was sent (mirrors, retries).

    `x-echo-fail-first: N` answers 500 to the first N requests for a request-URI (then as
    usual), so a retry can succeed. `x-echo-reset: 1` takes the request and closes the
    connection without an answer (a backend that died while processing it).
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.paths: list[str] = []

    async def answer(self, req: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        earlier = self.paths.count(req.path)
        if len(self.paths) < 10_000:
            self.paths.append(req.path)
        if "x-echo-reset" in req.headers:
            raise ConnectionResetError("x-echo-reset")
        status, headers, body = await super().answer(req)
        if earlier < int(req.headers.get("x-echo-fail-first", ["0"])[0]):
            status = 500
        return status, headers, body


def recording_echo(pool: EchoPool, name: str) -> RecordingEcho:
    """A RecordingEcho registered in the session pool (stopped with it)."""
    existing = pool.servers.get(name)
    if isinstance(existing, RecordingEcho):
        return existing
    server = RecordingEcho(name)
    pool._call(server.start)  # the pool's loop owns the server's sockets
    pool.servers[name] = server
    return server


def echo(pool: EchoPool, name: str) -> EchoServer:
    """The session's echo server called `name` (started on first use)."""
    return pool.servers.get(name) or pool.start(name)


# --- raw clients ------------------------------------------------------------------------------


def raw_request(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes verbatim (no client-side normalization) and read one reply.

    Stops at the end of the body given by Content-Length (Envoy delays its close by up to a
    second when the client does not hang up first), else when the peer closes.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        buf = b""
        while not _complete(buf):
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            buf += chunk
        return buf


def _complete(buf: bytes) -> bool:
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def raw_status(reply: bytes) -> int:
    """The status code of a raw HTTP/1.1 reply (0 when the connection closed without one)."""
    if not reply.startswith(b"HTTP/1."):
        return 0
    return int(reply.split(b" ", 2)[1])


def h2c_request(
    port: int,
    path: str,
    host: str = "example.com",
    headers: Iterable[tuple[str, str]] = (),
    method: str = "GET",
    timeout: float = 5.0,
) -> tuple[dict[str, str], bytes]:
    """One HTTP/2 request with prior knowledge (no TLS, no Upgrade) -> (headers, body)."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(header_encoding="utf-8"))
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        conn.initiate_connection()
        sid = conn.get_next_available_stream_id()
        conn.send_headers(
            sid,
            [
                (":method", method),
                (":path", path),
                (":scheme", "http"),
                (":authority", host),
                *headers,
            ],
            end_stream=True,
        )
        s.sendall(conn.data_to_send())
        resp: dict[str, str] = {}
        body = bytearray()
        for _ in range(1000):  # bounded: one response is a handful of frames
            data = s.recv(65536)
            if not data:
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived):
                    resp = {str(k): str(v) for k, v in ev.headers or []}
                elif isinstance(ev, h2.events.DataReceived):
                    body += ev.data or b""
                    conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, h2.events.StreamEnded | h2.events.StreamReset):
                    return resp, bytes(body)
            s.sendall(conn.data_to_send())
        return resp, bytes(body)
