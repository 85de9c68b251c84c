"""Real TLS clients for end-to-end tests: HTTP/1.1 and HTTP/2 (via ALPN) over Python `ssl`,
with a free choice of SNI and Host (to test SNI selection and misdirected requests), an
optional client certificate, and a keep-alive connection for "no connection dropped" checks.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import h2.config
import h2.connection
import h2.events

from e2e.harness import Response
from e2e.pki import KeyPair, common_name


@dataclass
class TLSResponse(Response):
    alpn: str | None = None
    peer_cn: str = ""


def client_context(
    ca_pem: str | None,
    alpn: tuple[str, ...] = ("http/1.1",),
    client: KeyPair | None = None,
) -> ssl.SSLContext:
    """Verifying context (hostname checks against the SNI) unless `ca_pem` is None."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_pem is None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.load_verify_locations(cadata=ca_pem)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if client is not None:
        with tempfile.TemporaryDirectory() as d:
            cert, key = client.write(Path(d), "client")
            ctx.load_cert_chain(cert, key)
    return ctx


def tls_connect(
    port: int,
    sni: str | None,
    ctx: ssl.SSLContext,
    timeout: float = 5.0,
) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=sni)
    except BaseException:
        raw.close()
        raise


class H1Connection:
    """A keep-alive HTTP/1.1 connection over TLS: several requests on one handshake."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self.sock = sock

    def request(
        self,
        path: str = "/",
        *,
        host: str,
        method: str = "GET",
        headers: dict[str, str] | None = None,
    ) -> TLSResponse:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Content-Length: 0"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        r = http.client.HTTPResponse(self.sock)
        r.begin()
        body = r.read()
        return _response(r.status, r.getheaders(), body, self.sock)

    def close(self) -> None:
        self.sock.close()


def _response(
    status: int, headers: list[tuple[str, str]], body: bytes, sock: ssl.SSLSocket
) -> TLSResponse:
    der = sock.getpeercert(binary_form=True)
    return TLSResponse(
        status,
        {k.lower(): v for k, v in headers},
        body,
        alpn=sock.selected_alpn_protocol(),
        peer_cn=common_name(der) if der else "",
    )


def https_request(
    port: int,
    path: str = "/",
    *,
    sni: str | None,
    host: str | None = None,
    ca_pem: str | None,
    alpn: tuple[str, ...] = ("http/1.1",),
    client: KeyPair | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> TLSResponse:
    """One request on a fresh TLS connection. HTTP/2 when the server picks `h2` by ALPN."""
    ctx = client_context(ca_pem, alpn, client)
    sock = tls_connect(port, sni, ctx, timeout)
    try:
        authority = host or sni or "127.0.0.1"
        if sock.selected_alpn_protocol() == "h2":
            return _h2_request(sock, path, authority, headers or {})
        return H1Connection(sock).request(path, host=authority, headers=headers)
    finally:
        sock.close()


def _h2_request(
    sock: ssl.SSLSocket, path: str, authority: str, headers: dict[str, str]
) -> TLSResponse:
    conn = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
    )
    conn.initiate_connection()
    stream = conn.get_next_available_stream_id()
    conn.send_headers(
        stream,
        [
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", authority),
            (":path", path),
            *headers.items(),
        ],
        end_stream=True,
    )
    sock.sendall(conn.data_to_send())
    status, out, body = 0, [], bytearray()
    while True:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed before the HTTP/2 response ended")
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == stream:
                for k, v in ev.headers or []:
                    if str(k) == ":status":
                        status = int(v)
                    else:
                        out.append((str(k), str(v)))
            elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == stream:
                body.extend(ev.data or b"")
                conn.acknowledge_received_data(ev.flow_controlled_length, stream)
            elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == stream:
                return _response(status, out, bytes(body), sock)
            elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == stream:
                raise ConnectionError(f"stream reset ({ev.error_code})")
        sock.sendall(conn.data_to_send())


def s_client(
    port: int, sni: str, ca_file: Path, alpn: str | None = None, timeout: float = 10.0
) -> str:
    """`openssl s_client` handshake (no request): its full output, for the chosen cert/ALPN."""
    cmd = [
        "openssl",
        "s_client",
        "-connect",
        f"127.0.0.1:{port}",
        "-servername",
        sni,
        "-CAfile",
        str(ca_file),
        "-verify_return_error",
    ]
    if alpn:
        cmd += ["-alpn", alpn]
    done = subprocess.run(cmd, input=b"", capture_output=True, timeout=timeout, check=False)
    return (done.stdout + done.stderr).decode(errors="replace")
