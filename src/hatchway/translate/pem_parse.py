"""The X.509 work behind `translate.pem`'s checks (`cryptography`), in its own module so that
it is imported only when a certificate is checked."""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from hatchway.translate.pem import KeyPairCheck, Validity

_CURVES = {"secp256r1", "secp384r1", "secp521r1"}
_SUPPORTED = "RSA of 2048 bits or more, ECDSA P-256/P-384/P-521, Ed25519"


def certificates(data: bytes) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValueError("no valid PEM certificate (or a malformed one)") from None


def check_key_pair(crt: bytes, key: bytes) -> KeyPairCheck:
    try:
        chain = certificates(crt)
    except ValueError as err:
        return KeyPairCheck(f"tls.crt: {err}")
    try:
        # RSA consistency is checked below, cheaply: cryptography's own check tests primality
        # (43 ms for a 2048-bit key, 6 s for 8192).
        private = serialization.load_pem_private_key(
            key, password=None, unsafe_skip_rsa_key_validation=True
        )
    except TypeError:
        return KeyPairCheck("tls.key: the private key is encrypted (no password can be given)")
    except (ValueError, UnsupportedAlgorithm):
        return KeyPairCheck("tls.key: no valid PEM private key")
    problem = _unsupported(private) or _mismatch(chain[0], private)
    if problem is not None:
        return KeyPairCheck(problem)
    window = Validity(
        max(c.not_valid_before_utc for c in chain), min(c.not_valid_after_utc for c in chain)
    )
    return KeyPairCheck(None, window)


def _unsupported(private: object) -> str | None:
    if isinstance(private, rsa.RSAPrivateKey):
        if private.key_size < 2048:
            return f"tls.key: an RSA key of {private.key_size} bits (Envoy needs 2048 or more)"
        if not _rsa_consistent(private.private_numbers()):
            return "tls.key: an inconsistent RSA private key"
        return None
    if isinstance(private, ec.EllipticCurvePrivateKey):
        if private.curve.name not in _CURVES:
            return f"tls.key: ECDSA curve {private.curve.name} is not supported ({_SUPPORTED})"
        return None
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return None
    kind = type(private).__name__.removesuffix("PrivateKey").lstrip("_")
    return f"tls.key: {kind} keys are not supported ({_SUPPORTED})"


def _rsa_consistent(n: rsa.RSAPrivateNumbers) -> bool:
    """BoringSSL's RSA_check_key without primality tests: the parts agree with each other."""
    e, p1, q1 = n.public_numbers.e, n.p - 1, n.q - 1
    return (
        n.p > 1
        and n.q > 1
        and n.p * n.q == n.public_numbers.n
        and (n.d * e) % p1 == 1 % p1
        and (n.d * e) % q1 == 1 % q1
        and n.dmp1 == n.d % p1
        and n.dmq1 == n.d % q1
        and (n.iqmp * n.q) % n.p == 1
    )


def _mismatch(leaf: x509.Certificate, private: object) -> str | None:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    public = private.public_key()  # type: ignore[attr-defined]
    if public.public_bytes(*fmt) != leaf.public_key().public_bytes(*fmt):
        return "tls.key does not match the certificate (the first one in tls.crt)"
    return None
