"""A minimal WebSocket echo backend (RFC 6455, small text frames) and a matching client.

The server answers `Upgrade: websocket` with 101 and echoes every text frame prefixed with
its name, so a test sees that the upgraded tunnel reached *this* backend; a request without
the upgrade gets a plain 426.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import ssl
import threading

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def frame(payload: bytes, mask: bool) -> bytes:
    """One final text frame (payload < 126 bytes)."""
    assert len(payload) < 126
    if not mask:
        return bytes([0x81, len(payload)]) + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + key + masked


def read_frame(sock: socket.socket) -> bytes:
    head = _read_exact(sock, 2)
    length = head[1] & 0x7F
    assert length < 126, "small frames only"
    key = _read_exact(sock, 4) if head[1] & 0x80 else b""
    data = _read_exact(sock, length)
    return bytes(b ^ key[i % 4] for i, b in enumerate(data)) if key else data


def _read_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed mid-frame")
        buf += chunk
    return buf


def read_head(sock: socket.socket, limit: int = 65536) -> bytes:
    """Bytes up to and including the blank line ending an HTTP/1.1 head."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(1)
        if not chunk:
            break
        buf += chunk
        if len(buf) > limit:
            raise ValueError("head too large")
    return buf


class WebSocketEcho:
    """`tls`: serve WebSocket over TLS (wss) with this server context."""

    def __init__(self, name: str, tls: ssl.SSLContext | None = None) -> None:
        self.name = name
        self._tls = tls
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        if self._tls is not None:
            try:
                conn = self._tls.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                conn.close()
                return
        with conn:
            try:
                head = read_head(conn).decode("latin-1")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in head.split("\r\n")[1:])
                    if k
                }
                if headers.get("upgrade", "").lower() != "websocket":
                    body = b"upgrade required"
                    conn.sendall(
                        b"HTTP/1.1 426 Upgrade Required\r\nconnection: close\r\n"
                        + f"content-length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                    return
                key = accept_key(headers.get("sec-websocket-key", ""))
                conn.sendall(
                    (
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Accept: {key}\r\n\r\n"
                    ).encode()
                )
                for _ in range(100):  # bounded conversation
                    payload = read_frame(conn)
                    conn.sendall(frame(self.name.encode() + b": " + payload, mask=False))
            except (OSError, ConnectionError, ValueError, AssertionError):
                return
