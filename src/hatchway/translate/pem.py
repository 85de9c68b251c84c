"""Structural PEM checks (no cryptography: the core stays pure and fast).

A certificate is valid here when it has at least one well-formed CERTIFICATE block (base64
body that decodes to DER starting with a SEQUENCE); a key when it has one PRIVATE KEY block of
a known type. Envoy does the real parsing; this catches garbage and swapped fields.
"""

from __future__ import annotations

import base64
import binascii
import re

_BLOCK = re.compile(
    r"-----BEGIN ([A-Z0-9 ]+)-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END \1-----", re.DOTALL
)
_KEY_TYPES = {"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"}


def _blocks(data: bytes | str) -> list[tuple[str, bytes]]:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    out: list[tuple[str, bytes]] = []
    for label, body in _BLOCK.findall(text):
        try:
            der = base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            continue
        if der[:1] == b"\x30":  # ASN.1 SEQUENCE
            out.append((label, der))
    return out


def has_certificate(data: bytes | str) -> bool:
    return any(label == "CERTIFICATE" for label, _ in _blocks(data))


def has_private_key(data: bytes | str) -> bool:
    return any(label in _KEY_TYPES for label, _ in _blocks(data))


def as_text(data: bytes) -> str:
    return data.decode("utf-8", "replace")
