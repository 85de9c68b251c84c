"""The HTTP echo backend behind TLS (for BackendTLSPolicy): same JSON answer, plus a `tls`
object `{sni, client_cn}` telling which SNI the gateway sent and which client certificate
(the Gateway's `spec.tls.backend.clientCertificateRef`) it presented."""

from __future__ import annotations

import asyncio
import contextvars
import json
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e.echo import EchoServer, Request
from e2e.pki import KeyPair, common_name

_PEER: contextvars.ContextVar[dict[str, str | None]] = contextvars.ContextVar("peer")


def server_context(pair: KeyPair, client_ca_pem: str | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as d:
        cert, key = pair.write(Path(d), "server")
        ctx.load_cert_chain(cert, key)
    if client_ca_pem:
        ctx.load_verify_locations(cadata=client_ca_pem)
        ctx.verify_mode = ssl.CERT_OPTIONAL  # record a client cert when one is presented

    def remember(obj: Any, name: str | None, _ctx: Any) -> None:
        obj.hatchway_sni = name

    ctx.sni_callback = remember
    return ctx


@dataclass
class TLSEchoServer(EchoServer):
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, ssl=self.ssl_context
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        obj = writer.get_extra_info("ssl_object")
        der = obj.getpeercert(binary_form=True) if obj is not None else None
        _PEER.set(
            {
                "sni": getattr(obj, "hatchway_sni", None),
                "client_cn": common_name(der) if der else None,
            }
        )
        await super()._handle(reader, writer)

    async def answer(self, req: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        status, headers, body = await super().answer(req)
        data = json.loads(body)
        data["tls"] = _PEER.get({"sni": None, "client_cn": None})
        return status, headers, json.dumps(data).encode()
