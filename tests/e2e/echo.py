"""A fast echo backend for end-to-end tests: HTTP/1.1 and h2c (prior knowledge) on loopback.

Every request is answered with JSON describing it, like the Gateway API conformance echo
server: `{method, path, host, headers, backend, namespace, protocol, body}` (`path` is the
request-URI including the query; header names are lowercase, values lists).

Request headers steer the answer: `x-echo-status: 503` sets the status, `x-echo-delay-ms: 200`
delays it, `x-echo-set-header: name: value` adds a response header.

`EchoPool` runs any number of them on one event loop in a background thread, so a test (or
a fixture) can start and stop them synchronously.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import h2.config
import h2.connection
import h2.events
import h2.exceptions

T = TypeVar("T")
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
MAX_BODY = 1 << 20


@dataclass
class Request:
    method: str
    path: str
    host: str
    headers: dict[str, list[str]]
    protocol: str
    body: bytes = b""


@dataclass
class EchoServer:
    name: str
    namespace: str = "default"
    host: str = "127.0.0.1"
    port: int = 0
    requests: int = 0
    _server: asyncio.Server | None = field(default=None, repr=False)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set, repr=False)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            await self._server.wait_closed()

    # --- answering ----------------------------------------------------------------------

    async def answer(self, req: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        self.requests += 1
        hdrs = req.headers
        status = int(hdrs.get("x-echo-status", ["200"])[0])
        delay_ms = int(hdrs.get("x-echo-delay-ms", ["0"])[0])
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        body = json.dumps(
            {
                "method": req.method,
                "path": req.path,
                "host": req.host,
                "headers": hdrs,
                "backend": self.name,
                "namespace": self.namespace,
                "protocol": req.protocol,
                "body": req.body.decode(errors="replace"),
            }
        ).encode()
        out = [("content-type", "application/json"), ("x-echo-backend", self.name)]
        for extra in hdrs.get("x-echo-set-header", []):
            name, _, value = extra.partition(":")
            out.append((name.strip().lower(), value.strip()))
        return status, out, body

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            first = await reader.readline()
            if first == H2_PREFACE[: len(first)] and first.startswith(b"PRI "):
                rest = await reader.readexactly(len(H2_PREFACE) - len(first))
                await self._serve_h2(first + rest, reader, writer)
            else:
                await self._serve_h1(first, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _serve_h1(
        self, line: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while line:
            method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
            headers: dict[str, list[str]] = {}
            while True:
                h = (await reader.readline()).decode("latin-1").rstrip("\r\n")
                if not h:
                    break
                name, _, value = h.partition(":")
                headers.setdefault(name.strip().lower(), []).append(value.strip())
            body = b""
            if "content-length" in headers:
                body = await reader.readexactly(min(int(headers["content-length"][0]), MAX_BODY))
            elif "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
                body = await _read_chunked(reader)
            req = Request(method, target, headers.get("host", [""])[0], headers, version, body)
            status, out, payload = await self.answer(req)
            close = version == "HTTP/1.0" or "close" in ",".join(headers.get("connection", []))
            head = [f"HTTP/1.1 {status} {_reason(status)}"]
            head += [f"{k}: {v}" for k, v in out]
            head += [f"content-length: {len(payload)}"]
            if close:
                head.append("connection: close")
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)
            await writer.drain()
            if close:
                return
            line = await reader.readline()

    async def _serve_h2(
        self, preface: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        conn.initiate_connection()
        conn.receive_data(preface)
        writer.write(conn.data_to_send())
        streams: dict[int, tuple[list[tuple[str, str]], bytearray]] = {}
        tasks: set[asyncio.Task[None]] = set()

        async def respond(stream_id: int) -> None:
            raw, data = streams.pop(stream_id)
            pseudo = {k: v for k, v in raw if k.startswith(":")}
            headers: dict[str, list[str]] = {}
            for k, v in raw:
                if not k.startswith(":"):
                    headers.setdefault(k.lower(), []).append(v)
            req = Request(
                pseudo.get(":method", ""),
                pseudo.get(":path", ""),
                pseudo.get(":authority", ""),
                headers,
                "HTTP/2",
                bytes(data),
            )
            status, out, payload = await self.answer(req)
            try:
                conn.send_headers(
                    stream_id,
                    [(":status", str(status)), *out, ("content-length", str(len(payload)))],
                )
                conn.send_data(stream_id, payload, end_stream=True)
            except h2.exceptions.ProtocolError:
                return  # the client reset the stream meanwhile
            writer.write(conn.data_to_send())

        while True:
            data = await reader.read(65536)
            if not data:
                return
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    hdrs = [(str(k), str(v)) for k, v in event.headers or []]
                    streams[event.stream_id] = (hdrs, bytearray())
                elif isinstance(event, h2.events.DataReceived):
                    if event.stream_id in streams:
                        streams[event.stream_id][1].extend(event.data or b"")
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id in streams:
                    task = asyncio.create_task(respond(event.stream_id))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                elif isinstance(event, h2.events.ConnectionTerminated):
                    writer.write(conn.data_to_send())
                    return
            writer.write(conn.data_to_send())
            await writer.drain()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()).strip():
                pass  # trailers
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readline()
        if len(body) > MAX_BODY:
            raise ValueError("body too large")


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"


class EchoPool:
    """Echo servers on a private event loop in a daemon thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.servers: dict[str, EchoServer] = {}

    def _call(self, make: Callable[[], Awaitable[T]], timeout: float = 10) -> T:
        async def run() -> T:
            return await make()

        fut: Future[T] = asyncio.run_coroutine_threadsafe(run(), self._loop)
        return fut.result(timeout)

    def start(self, name: str, namespace: str = "default") -> EchoServer:
        server = EchoServer(name, namespace)
        self._call(server.start)
        self.servers[name] = server
        return server

    def add(self, server: EchoServer) -> EchoServer:
        """Start an already configured server (e.g. a TLS subclass) on the pool's loop."""
        self._call(server.start)
        self.servers[server.name] = server
        return server

    def stop(self, name: str) -> None:
        server = self.servers.pop(name)
        self._call(server.stop)

    def close(self) -> None:
        for name in list(self.servers):
            self.stop(name)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


def describe(server: EchoServer) -> dict[str, Any]:
    return {"name": server.name, "namespace": server.namespace, "port": server.port}
