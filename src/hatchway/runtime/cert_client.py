"""A proxy's side of its xDS certificate: generate a key, ask the controller to sign it with
the Pod's ServiceAccount token as proof of identity, write the files Envoy watches, renew at
two thirds of the lifetime. The key never leaves the Pod.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from hatchway import pki as certificates
from hatchway.sources import clock

log = logging.getLogger("hatchway.proxy.certs")


@dataclass(frozen=True)
class CertSource:
    url: str  # https://HOST:PORT/v1/certificates
    ca_pem: bytes  # the controller's CA, to trust its certificate endpoint
    token_file: Path  # the Pod's projected ServiceAccount token (re-read on each request)
    gateway: str  # namespace/name
    server_name: str  # the controller's name in its certificate


class CertificateRefused(Exception):
    """The controller refused to sign (an answer, not a network failure: no quick retry)."""


def _write_atomically(directory: Path, name: str, data: bytes, mode: int) -> None:
    tmp = directory / f".{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, directory / name)  # Envoy's directory watch sees a move, never half a file


async def fetch(source: CertSource, out: Path) -> dt.datetime:
    """Obtain a certificate into `out` (tls.key, tls.crt, ca.crt); returns its expiry."""
    key = certificates.new_key()
    csr = certificates.certificate_request(key, source.gateway)
    token = source.token_file.read_text().strip()
    tls = ssl.create_default_context(cadata=source.ca_pem.decode())
    body = {"gateway": source.gateway, "csr": csr.decode()}
    headers = {"Authorization": f"Bearer {token}", "Host": source.server_name}
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http,
        http.post(
            source.url, json=body, headers=headers, ssl=tls, server_hostname=source.server_name
        ) as r,
    ):
        answer = await r.json(content_type=None)
        if r.status != 200:
            raise CertificateRefused(f"{r.status}: {answer.get('error', answer)}")
    cert = str(answer["certificate"]).encode()
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Key first: Envoy reloads when tls.crt moves in, and must find the matching key then.
    _write_atomically(out, "tls.key", certificates.key_pem(key), 0o600)
    _write_atomically(out, "ca.crt", str(answer["ca"]).encode(), 0o644)
    _write_atomically(out, "tls.crt", cert, 0o644)
    return certificates.not_after(cert)


async def keep_fresh(source: CertSource, out: Path, first_expiry: dt.datetime) -> None:
    """Renew at two thirds of each certificate's lifetime; retry failures with backoff."""
    expiry = first_expiry
    issued = clock.now()
    while True:
        renew_at = issued + (expiry - issued) * 2 / 3
        await asyncio.sleep(max((renew_at - clock.now()).total_seconds(), 1))
        backoff = 1.0
        while True:
            try:
                expiry = await fetch(source, out)
                issued = clock.now()
                log.info("xDS certificate renewed; valid until %s", expiry.isoformat())
                break
            except (OSError, aiohttp.ClientError, TimeoutError, CertificateRefused) as exc:
                log.warning("renewing the xDS certificate failed (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60)
