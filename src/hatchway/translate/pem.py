"""Certificate checks: what Envoy would refuse, found before it reaches Envoy (`cryptography`).

A pure function of the bytes (no clock, no I/O): a certificate chain and private key are
parsed, the key must be the one of the chain's first certificate (Envoy: KEY_VALUES_MISMATCH),
and the key type must be one Envoy (BoringSSL) loads: RSA of 2048 bits or more, ECDSA on P-256,
P-384 or P-521, or Ed25519 (`tests/e2e/test_certificate_checks.py` holds these verdicts
against `envoy --mode validate`). The validity window is returned, not judged: whether a
certificate has expired depends on when the snapshot was read (`Snapshot.observed_at`).

Messages never quote the input: it may hold private key material. The X.509 stack
(`translate.pem_parse`, ~8 MiB resident) is imported with the first certificate checked: a
configuration without TLS never loads it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

T = TypeVar("T")
# Verdicts by a digest of the input: a bounded cache that keeps no key material alive.
_CACHE_SIZE = 4096
_pairs: dict[bytes, KeyPairCheck] = {}
_bundles: dict[bytes, str | None] = {}


@dataclass(frozen=True)
class Validity:
    """The window in which every certificate of a chain is valid (UTC)."""

    not_before: datetime
    not_after: datetime

    def problem(self, now: datetime) -> str | None:
        if now > self.not_after:
            return f"expired at {_iso(self.not_after)}"
        if now < self.not_before:
            return f"not valid before {_iso(self.not_before)}"
        return None


@dataclass(frozen=True)
class KeyPairCheck:
    problem: str | None  # why Envoy would refuse the pair; None: usable
    validity: Validity | None = None


def check_key_pair(crt: bytes, key: bytes) -> KeyPairCheck:
    """Whether `crt` (a PEM chain, leaf first) and `key` (a PEM private key) are a usable pair."""
    digest = hashlib.blake2b(crt + b"\0" + key, digest_size=20).digest()
    found = _pairs.get(digest)
    if found is None:
        from hatchway.translate import pem_parse

        found = pem_parse.check_key_pair(crt, key)
        _remember(_pairs, digest, found)
    return found


def check_ca_bundle(data: bytes) -> str | None:
    """Why a PEM CA bundle is unusable, or None when it holds one or more certificates."""
    digest = hashlib.blake2b(data, digest_size=20).digest()
    if digest in _bundles:
        return _bundles[digest]
    from hatchway.translate import pem_parse

    try:
        pem_parse.certificates(data)
        problem = None
    except ValueError as err:
        problem = str(err)
    _remember(_bundles, digest, problem)
    return problem


def _remember(cache: dict[bytes, T], digest: bytes, value: T) -> None:
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[digest] = value


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def as_text(data: bytes) -> str:
    return data.decode("utf-8", "replace")
