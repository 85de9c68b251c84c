"""Real external authorization services for the ExternalAuth tests, on loopback.

Both allow a request whose `Authorization` is `Bearer good` (the HTTP one also
`Bearer tenant-<name>`) and deny the rest, and remember what they were asked.

- `GrpcAuth`: the Envoy `envoy.service.auth.v3.Authorization` gRPC service (the xds-protos
  stubs). Allowing, it adds `x-auth-user: grpc-alice` and `x-tenant` (from the token) to the
  request and tries to change `Host` (which the gateway must ignore); denying, it answers
  401 with a body and a `www-authenticate` header.
- `HttpAuth`: an HTTP service: 200 to allow (with `x-auth-user: http-alice`, `x-other: 1` and
  a `Host` of its own), 403 with `x-deny-reason` and a body to deny.
"""

from __future__ import annotations

import http.server
import threading
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc
from envoy.type.v3 import http_status_pb2
from google.rpc import code_pb2


def _allowed(authorization: str) -> str | None:
    """The user a token stands for, or None to deny."""
    if authorization == "Bearer good":
        return "alice"
    if authorization.startswith("Bearer tenant-"):
        return authorization.removeprefix("Bearer tenant-")
    return None


@dataclass
class Seen:
    """One check the service was asked for."""

    method: str
    path: str
    host: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class _Log:
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, s: Seen) -> None:
        with self.lock:
            self.seen.append(s)

    def paths(self) -> list[str]:
        with self.lock:
            return [s.path for s in self.seen]


class _Check(external_auth_pb2_grpc.AuthorizationServicer):  # type: ignore[misc]
    def __init__(self, log: _Log) -> None:
        self.log = log

    def Check(self, request: Any, context: Any) -> Any:
        http = request.attributes.request.http
        headers = dict(http.headers)
        self.log.add(Seen(http.method, http.path, http.host, headers, http.raw_body or b""))
        user = _allowed(headers.get("authorization", ""))
        out = external_auth_pb2.CheckResponse()
        if user is None:
            out.status.code = code_pb2.PERMISSION_DENIED
            out.denied_response.status.code = http_status_pb2.Unauthorized
            out.denied_response.body = "denied by grpc auth"
            h = out.denied_response.headers.add()
            h.header.key, h.header.value = "www-authenticate", "Bearer"
            return out
        out.status.code = code_pb2.OK
        for key, value in (
            ("x-auth-user", f"grpc-{user}"),
            ("x-tenant", user),
            ("host", "evil.example"),  # must not take effect (GEP-5224)
        ):
            h = out.ok_response.headers.add()
            h.header.key, h.header.value = key, value
            h.append_action = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
        return out


class GrpcAuth:
    def __init__(self) -> None:
        self._log = _Log()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        external_auth_pb2_grpc.add_AuthorizationServicer_to_server(_Check(self._log), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    @property
    def seen(self) -> list[Seen]:
        with self._log.lock:
            return list(self._log.seen)

    def close(self) -> None:
        self._server.stop(grace=None)


class HttpAuth:
    def __init__(self) -> None:
        self._log = _Log()
        log = self._log

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("content-length", "0") or "0")
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                log.add(Seen(self.command, self.path, headers.get("host", ""), headers, body))
                user = _allowed(headers.get("authorization", ""))
                if user is None:
                    payload = b"denied by http auth"
                    self.send_response(403)
                    self.send_header("x-deny-reason", "bad token")
                else:
                    payload = b""
                    self.send_response(200)
                    self.send_header("x-auth-user", f"http-{user}")
                    self.send_header("x-tenant", user)
                    self.send_header("x-other", "1")
                    self.send_header("host", "evil.example")  # must not take effect
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

            def log_message(self, *_: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def seen(self) -> list[Seen]:
        with self._log.lock:
            return list(self._log.seen)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
