"""Certificate validity is judged as of when the edge read the objects (`Snapshot.observed_at`):
the core has no clock. An expired or not-yet-valid certificate is served, with a warning."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hatchway.model.snapshot import Snapshot
from hatchway.translate import translate
from hatchway.translate.memo import TranslateMemo
from hatchway.translate.pem import check_key_pair
from snapshots import snapshot

UTC = dt.UTC
NOT_BEFORE = dt.datetime(2030, 1, 1, tzinfo=UTC)
NOT_AFTER = dt.datetime(2031, 1, 1, tzinfo=UTC)


def _pair() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a.test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), pem.decode()


def _snapshot() -> Snapshot:
    crt, key = _pair()
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "hatchway"},
            "spec": {"controllerName": "hatchway.dev/gateway-controller"},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "cert"},
            "type": "kubernetes.io/tls",
            "stringData": {"tls.crt": crt, "tls.key": key},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "gw"},
            "spec": {
                "gatewayClassName": "hatchway",
                "tls": {"backend": {"clientCertificateRef": {"name": "cert"}}},
                "listeners": [
                    {
                        "name": "https",
                        "port": 443,
                        "protocol": "HTTPS",
                        "tls": {"certificateRefs": [{"name": "cert"}]},
                    }
                ],
            },
        },
    ]
    return snapshot(docs, "t.yaml")


def _warnings(snapshot: Snapshot, when: dt.datetime | None, memo: Any = None) -> list[str]:
    seen = dataclasses.replace(snapshot, observed_at=when)
    return [f"{w.object}: {w.message}" for w in translate(seen, memo=memo).report.warnings]


def test_validity_judged_as_of_the_snapshot() -> None:
    snapshot = _snapshot()
    assert _warnings(snapshot, None) == []  # no clock given: nothing judged by time
    assert _warnings(snapshot, dt.datetime(2030, 6, 1, tzinfo=UTC)) == []
    assert _warnings(snapshot, dt.datetime(2032, 1, 1, tzinfo=UTC)) == [
        "Gateway/default/gw: clientCertificateRef default/cert: expired at 2031-01-01T00:00:00Z",
        "Gateway/default/gw: listener https: certificate default/cert expired at "
        "2031-01-01T00:00:00Z; clients will refuse it",
    ]
    early = _warnings(snapshot, dt.datetime(2029, 1, 1, tzinfo=UTC))
    assert len(early) == 2
    assert all("not valid before 2030-01-01T00:00:00Z" in w for w in early)


def test_expired_certificate_is_still_served() -> None:
    snapshot = dataclasses.replace(_snapshot(), observed_at=dt.datetime(2032, 1, 1, tzinfo=UTC))
    out = translate(snapshot)
    [listener] = out.ir.listeners
    [chain] = listener.chains
    assert chain.tls is not None and [c.name for c in chain.tls.certificates] == ["default/cert"]
    gw = next(r for r in out.report.resources if r.key.kind == "Gateway")
    assert all(c.is_true for c in gw.status.conditions)  # type: ignore[union-attr]


def test_a_later_read_is_judged_anew_with_reused_gateways() -> None:
    """The same objects read later (a running gateway reuses their translation) are judged
    against the new time."""
    snapshot, memo = _snapshot(), TranslateMemo()
    assert _warnings(snapshot, dt.datetime(2030, 6, 1, tzinfo=UTC), memo) == []
    assert len(_warnings(snapshot, dt.datetime(2032, 1, 1, tzinfo=UTC), memo)) == 2
    assert memo.parents_reused


def test_verdicts_never_quote_the_key() -> None:
    crt, key = _pair()
    _, other = _pair()
    check = check_key_pair(crt.encode(), other.encode())
    assert check.problem == "tls.key does not match the certificate (the first one in tls.crt)"
    garbage = check_key_pair(crt.encode(), key[:120].encode())
    assert garbage.problem == "tls.key: no valid PEM private key"
    assert key.splitlines()[1] not in (garbage.problem or "")
