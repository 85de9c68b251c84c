"""Layer-4 echo backends on loopback: TCP, TLS (terminating, reports SNI and client cert) and
UDP. Each announces its name so a test knows which backend a connection reached.

TCP and TLS: on accept the server sends one line `<name> <sni or ->\\n`, then echoes every
byte back. UDP: each datagram is answered with `<name>|<datagram>`.
"""

from __future__ import annotations

import socket
import socketserver
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Any

from e2e.pki import KeyPair


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


class _UDPServer(socketserver.ThreadingUDPServer):
    daemon_threads = True
    block_on_close = False


class L4Echo:
    """One echo server in a background thread; `close()` stops it."""

    def __init__(self, name: str, kind: str = "tcp", tls: KeyPair | None = None) -> None:
        self.name = name
        self.connections = 0
        self.sni: list[str | None] = []
        self._lock = threading.Lock()
        self._ctx: ssl.SSLContext | None = None
        if tls is not None:
            self._ctx = _server_context(tls, self.sni)
        outer = self
        server: socketserver.BaseServer
        if kind == "udp":

            class UDPHandler(socketserver.BaseRequestHandler):
                def handle(self) -> None:
                    data, sock = self.request
                    with outer._lock:
                        outer.connections += 1
                    sock.sendto(outer.name.encode() + b"|" + data, self.client_address)

            server = _UDPServer(("127.0.0.1", 0), UDPHandler)
        else:

            class TCPHandler(socketserver.BaseRequestHandler):
                def handle(self) -> None:
                    outer._serve_stream(self.request)

            server = _TCPServer(("127.0.0.1", 0), TCPHandler)
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def _serve_stream(self, sock: socket.socket) -> None:
        sock.settimeout(30)
        with self._lock:
            self.connections += 1
        conn: socket.socket = sock
        try:
            sni = "-"
            if self._ctx is not None:
                tls = self._ctx.wrap_socket(sock, server_side=True)
                conn = tls
                sni = getattr(tls, "hatchway_sni", None) or "-"
            conn.sendall(f"{self.name} {sni}\n".encode())
            while data := conn.recv(65536):
                conn.sendall(data)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _server_context(pair: KeyPair, sni_log: list[str | None]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as d:
        cert, key = pair.write(Path(d), "server")
        ctx.load_cert_chain(cert, key)

    def remember(sock: Any, name: str | None, _ctx: Any) -> None:
        sni_log.append(name)
        sock.hatchway_sni = name  # per connection: read back after the handshake

    ctx.sni_callback = remember
    return ctx


# --- clients ----------------------------------------------------------------------------------


def tcp_hello(port: int, payload: bytes = b"ping\n", timeout: float = 5.0) -> tuple[str, bytes]:
    """Connect, read the banner, send `payload`, read it back: (banner, echoed bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        return _exchange(s, payload)


def _exchange(s: socket.socket, payload: bytes) -> tuple[str, bytes]:
    f = s.makefile("rb")
    banner = f.readline().decode().strip()
    if not banner:
        raise ConnectionError("closed before the banner")
    s.sendall(payload)
    got = f.read(len(payload))
    return banner, got


def tls_hello(
    port: int,
    sni: str | None,
    ctx: ssl.SSLContext,
    payload: bytes = b"ping\n",
    timeout: float = 5.0,
) -> tuple[str, bytes, str]:
    """TLS to `port` with `sni`: (banner, echoed bytes, server certificate CN)."""
    from e2e.pki import common_name

    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    with ctx.wrap_socket(raw, server_hostname=sni) as s:
        der = s.getpeercert(binary_form=True)
        banner, got = _exchange(s, payload)
        return banner, got, common_name(der) if der else ""


def udp_ask(port: int, payload: bytes, timeout: float = 2.0) -> bytes:
    """One datagram from a fresh socket (a fresh UDP session), one answer."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(payload, ("127.0.0.1", port))
        data, _ = s.recvfrom(65536)
        return data


def closed_without_data(port: int, timeout: float = 5.0) -> bool:
    """True when the gateway closes/resets a plain TCP connection without sending anything."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(b"hello\n")
            return s.recv(1) == b""
        except ConnectionResetError:
            return True
