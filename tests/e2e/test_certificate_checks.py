"""Certificate checks against the real Envoy: a key pair `translate.pem` refuses is exactly one
`envoy --mode validate` refuses, and under `serve` such a pair never reaches Envoy: its
listener is not programmed, every other listener keeps serving, and a fixed Secret goes live.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from e2e.echo import EchoPool
from e2e.harness import Hatchway, conditions, free_port, status_of, wait_for, write_yaml
from e2e.pki import CA, KeyPair
from e2e.tls_client import https_request
from hatchway.runtime.envoy import envoy_binary
from hatchway.translate.pem import check_key_pair
from manifests import gateway, gateway_class, listener, parent, route, service, tls_secret

pytestmark = pytest.mark.e2e

Factory = Callable[..., Hatchway]
PrivateKey = Any  # any cryptography private key type


def _pem(key: PrivateKey, encrypted: bool = False) -> str:
    enc: Any = (
        serialization.BestAvailableEncryption(b"pw") if encrypted else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
    ).decode()


def _cert(key: PrivateKey, cn: str = "check.test") -> str:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    digest = (
        None
        if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)
        else hashes.SHA256()
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, digest)
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _pair(key: PrivateKey) -> tuple[str, str]:
    return _cert(key), _pem(key)


def _inconsistent_rsa() -> tuple[str, str]:
    """An RSA key whose CRT exponent is wrong (the public parts still match the certificate)."""
    key = rsa.generate_private_key(65537, 2048)
    n = key.private_numbers()
    bad = rsa.RSAPrivateNumbers(n.p, n.q, n.d, n.dmp1 ^ 2, n.dmq1, n.iqmp, n.public_numbers)
    broken = bad.private_key(unsafe_skip_rsa_key_validation=True)
    return _cert(key), _pem(broken)


def _cases() -> dict[str, tuple[str, str]]:
    p256 = ec.generate_private_key(ec.SECP256R1())
    leaf, key = _pair(p256)
    other_crt, other_key = _pair(ec.generate_private_key(ec.SECP256R1()))
    return {
        "ecdsa-p256": (leaf, key),
        "ecdsa-p384": _pair(ec.generate_private_key(ec.SECP384R1())),
        "ecdsa-p521": _pair(ec.generate_private_key(ec.SECP521R1())),
        "ecdsa-secp256k1": _pair(ec.generate_private_key(ec.SECP256K1())),
        "rsa-1024": _pair(rsa.generate_private_key(65537, 1024)),
        "rsa-2048": _pair(rsa.generate_private_key(65537, 2048)),
        "rsa-inconsistent": _inconsistent_rsa(),
        "ed25519": _pair(ed25519.Ed25519PrivateKey.generate()),
        "ed448": _pair(ed448.Ed448PrivateKey.generate()),
        "dsa": _pair(dsa.generate_private_key(2048)),
        "mismatched": (leaf, other_key),
        "encrypted-key": (leaf, _pem(p256, encrypted=True)),
        "chain": (leaf + other_crt, key),
        "leaf-not-first": (other_crt + leaf, key),
        "garbage-after-leaf": (
            leaf + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            key,
        ),
        "key-block-in-crt": (leaf + key, key),
        "hello-world": ("Hello world\n", "Hello world\n"),
    }


CASES = _cases()


def _envoy_accepts(tmp_path: Path, crt: str, key: str) -> tuple[bool, str]:
    """Whether Envoy loads the pair as a listener certificate (`--mode validate`)."""
    tls = {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3."
        "DownstreamTlsContext",
        "common_tls_context": {
            "tls_certificates": [
                {"certificate_chain": {"inline_string": crt}, "private_key": {"inline_string": key}}
            ]
        },
    }
    proxy = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
        "stat_prefix": "check",
        "cluster": "none",
    }
    bootstrap = {
        "static_resources": {
            "listeners": [
                {
                    "name": "check",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                    "filter_chains": [
                        {
                            "filters": [{"name": "tcp", "typed_config": proxy}],
                            "transport_socket": {"name": "tls", "typed_config": tls},
                        }
                    ],
                }
            ],
            "clusters": [{"name": "none", "load_assignment": {"cluster_name": "none"}}],
        }
    }
    config = tmp_path / "bootstrap.json"
    config.write_text(json.dumps(bootstrap))
    proc = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(config), "-l", "error"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode == 0, (proc.stdout + proc.stderr)[-600:]


@pytest.mark.parametrize("case", sorted(CASES))
def test_verdict_agrees_with_envoy(case: str, tmp_path: Path) -> None:
    crt, key = CASES[case]
    check = check_key_pair(crt.encode(), key.encode())
    accepted, log = _envoy_accepts(tmp_path, crt, key)
    assert (check.problem is None) == accepted, f"ours: {check.problem!r}; Envoy: {log}"


# --- serve ------------------------------------------------------------------------------------


def _refused(port: int, sni: str, ca_pem: str) -> bool:
    try:
        https_request(port, "/", sni=sni, ca_pem=ca_pem, timeout=2.0)
    except (TimeoutError, ssl.SSLError, OSError):
        return True
    return False


def _config(
    tmp_path: Path, echo_pool: EchoPool, ca: CA, bad: KeyPair
) -> tuple[Path, list[dict[str, Any]], int, int]:
    shared, alone = free_port(), free_port()
    echo = echo_pool.servers.get("be-any") or echo_pool.start("be-any")
    good = ca.issue("good", dns=("good.test",))
    docs = [
        gateway_class(),
        *service("be-any", echo.port),
        tls_secret("good", good),
        tls_secret("bad", bad),
        gateway(
            "gw",
            [
                listener("good", shared, "HTTPS", "good.test", ("good",)),
                listener("bad", shared, "HTTPS", "bad.test", ("bad",)),
                listener("alone", alone, "HTTPS", "alone.test", ("bad",)),
            ],
        ),
        route(
            "HTTPRoute", "r", [parent("gw")], [{"backendRefs": [{"name": "be-any", "port": 80}]}]
        ),
    ]
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "all.yaml", docs)
    return config, docs, shared, alone


def test_mismatched_pair_is_not_programmed_and_the_rest_serves(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Factory
) -> None:
    ca = CA()
    right = ca.issue("bad", dns=("bad.test", "alone.test"))
    wrong = ca.issue("other", dns=("bad.test",))
    mismatched = KeyPair(right.cert_pem, wrong.key_pem)
    config, docs, shared, alone = _config(tmp_path, echo_pool, ca, mismatched)
    hw = hatchway_factory(config)

    # Envoy took the configuration (no NACK): the bad pair never reached it.
    ready = hw.readyz().json()
    assert ready["ready"] is True, ready
    secrets = [s["name"] for s in hw.admin("/config").json()["secrets"]]
    assert "cert/default/good" in secrets
    assert "cert/default/bad" not in secrets
    r = https_request(shared, "/", sni="good.test", ca_pem=ca.pem)
    assert (r.status, r.peer_cn) == (200, "good")
    assert _refused(shared, "bad.test", ca.pem)
    assert _refused(alone, "alone.test", ca.pem)

    gw = status_of(hw.admin("/status").json()["resources"], "Gateway", "gw")
    by_name = {lst["name"]: lst for lst in gw["listeners"]}
    for name in ("bad", "alone"):
        conds = conditions(by_name[name])
        assert conds["ResolvedRefs"] == ("False", "InvalidCertificateRef")
        assert conds["Programmed"] == ("False", "Invalid")
    assert conditions(by_name["good"])["Programmed"] == ("True", "Programmed")
    assert conditions(gw)["ResolvedRefs"] == ("False", "ListenersNotResolved")

    # The Secret fixed: both listeners go live, without a restart.
    docs[docs.index(tls_secret("bad", mismatched))] = tls_secret("bad", right)
    write_yaml(config / "all.yaml", docs)
    wait_for(lambda: not _refused(alone, "alone.test", ca.pem), 15, "the fixed listener")
    r = https_request(shared, "/", sni="bad.test", ca_pem=ca.pem)
    assert (r.status, r.peer_cn) == (200, "bad")
    assert conditions(status_of(hw.admin("/status").json()["resources"], "Gateway", "gw"))[
        "ResolvedRefs"
    ] == ("True", "ResolvedRefs")
