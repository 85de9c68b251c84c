"""The one kubelet endpoint the suite reaches through the API server: container logs.

The mirror tests read echo-server logs (`pods/log` with `sinceTime`); the API server proxies
that request to the Node's kubelet address and port, which point here. Served over TLS with a
throwaway self-signed certificate: the rig's API server does not verify kubelet certificates.
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LogPath = Callable[[str, str, str], Path | None]  # (namespace, pod, container) -> log file


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hatchway-conformance-kubelet")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    crt, pem = directory / "kubelet.crt", directory / "kubelet.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return crt, pem


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def select_lines(text: str, query: dict[str, list[str]], now: dt.datetime) -> str:
    """CRI-format log text filtered as `kubectl logs` options ask."""
    since: dt.datetime | None = None
    if "sinceTime" in query:
        since = _parse_time(query["sinceTime"][0])
    elif "sinceSeconds" in query:
        since = now - dt.timedelta(seconds=int(query["sinceSeconds"][0]))
    stamps = query.get("timestamps", ["false"])[0] == "true"
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        stamp, _, rest = line.partition(" ")
        _stream, _, rest = rest.partition(" ")
        _tag, _, body = rest.partition(" ")
        if since is not None and _parse_time(stamp) < since:
            continue
        out.append(f"{stamp} {body}" if stamps else body)
    if "tailLines" in query:
        out = out[-int(query["tailLines"][0]) :] if int(query["tailLines"][0]) else []
    return "".join(out)


def serve(address: str, port: int, state: Path, log_path: LogPath) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            parts = [unquote(p) for p in url.path.split("/") if p]
            path = (
                log_path(*parts[1:4]) if len(parts) == 4 and parts[0] == "containerLogs" else None
            )
            if path is None:
                self.send_error(404)
                return
            text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
            body = select_lines(text, parse_qs(url.query), dt.datetime.now(dt.UTC)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    crt, key = _self_signed(state)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    server = ThreadingHTTPServer((address, port), Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
