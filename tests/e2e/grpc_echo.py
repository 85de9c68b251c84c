"""A gRPC echo backend (grpcio, h2c) that answers *any* unary method without generated code.

Requests and responses are raw bytes (no serializer): the response is JSON
`{backend, method, metadata, request}` so a test sees which backend answered, which method it
received and the request metadata (headers) after the gateway's filters. Each server counts
the calls it received (mirror tests read `calls`).
"""

from __future__ import annotations

import json
import threading
from concurrent import futures
from typing import Any

import grpc

from e2e.pki import KeyPair


class _Echo(grpc.GenericRpcHandler):  # type: ignore[misc]
    def __init__(self, owner: GrpcEcho) -> None:
        self.owner = owner

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = str(details.method)
        owner = self.owner

        def unary(request: bytes, context: grpc.ServicerContext) -> bytes:
            meta: dict[str, list[str]] = {}
            for k, v in context.invocation_metadata():
                meta.setdefault(k, []).append(v if isinstance(v, str) else v.decode())
            with owner.lock:
                owner.calls.append(method)
            context.set_trailing_metadata((("x-echo-backend", owner.name),))
            return json.dumps(
                {
                    "backend": owner.name,
                    "method": method,
                    "metadata": meta,
                    "request": request.decode(errors="replace"),
                }
            ).encode()

        return grpc.unary_unary_rpc_method_handler(unary)


class GrpcEcho:
    """One gRPC server on 127.0.0.1: plaintext HTTP/2, or HTTP/2 over TLS with `tls`."""

    def __init__(self, name: str, tls: KeyPair | None = None) -> None:
        self.name = name
        self.calls: list[str] = []
        self.lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers((_Echo(self),))
        if tls is None:
            self.port = self._server.add_insecure_port("127.0.0.1:0")
        else:
            creds = grpc.ssl_server_credentials([(tls.key_pem.encode(), tls.cert_pem.encode())])
            self.port = self._server.add_secure_port("127.0.0.1:0", creds)
        self._server.start()

    def close(self) -> None:
        self._server.stop(grace=None)


def call(
    channel: grpc.Channel,
    method: str,
    payload: bytes = b"hi",
    metadata: tuple[tuple[str, str], ...] = (),
    timeout: float = 5.0,
) -> dict[str, Any]:
    """One unary call (`method` is `/package.Service/Method`); raises grpc.RpcError."""
    stub = channel.unary_unary(method)
    answer = stub(payload, metadata=metadata, timeout=timeout)
    return dict(json.loads(answer))


def call_code(
    channel: grpc.Channel,
    method: str,
    metadata: tuple[tuple[str, str], ...] = (),
) -> tuple[grpc.StatusCode, dict[str, Any] | None]:
    """(status code, echo body or None) without raising."""
    try:
        return grpc.StatusCode.OK, call(channel, method, metadata=metadata)
    except grpc.RpcError as err:
        return err.code(), None
