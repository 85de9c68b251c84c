"""Certificates for xDS and the admission webhook: the certificate authority the controller
keeps, what it signs and for whom (pure: keys and certificates in, out; no I/O).

The controller keeps a CA (in a Secret of its namespace), serves xDS with a certificate it
issues for its Service's DNS names, and signs each proxy's certificate request once the
proxy's ServiceAccount token shows which Gateway it serves. A proxy certificate names its
Gateway as a URI SAN, `spiffe://hatchway.dev/ns/<namespace>/gateway/<name>`; the xDS server
serves a stream only that Gateway's configuration. Keys are EC P-256; proxy certificates are
short-lived and renewed by the proxy at two thirds of their lifetime.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SPIFFE_PREFIX = "spiffe://hatchway.dev/ns/"
CA_LIFETIME = dt.timedelta(days=3650)
SERVER_LIFETIME = dt.timedelta(days=90)
PROXY_LIFETIME = dt.timedelta(hours=24)
# Clock skew between nodes: certificates are valid from a little before they are issued.
BACKDATE = dt.timedelta(minutes=5)


def gateway_uri(namespace: str, name: str) -> str:
    return f"{SPIFFE_PREFIX}{namespace}/gateway/{name}"


def gateway_of(cert_pem: bytes) -> tuple[str, str] | None:
    """The (namespace, name) of the Gateway a proxy certificate names, if any."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return None
    for uri in sans.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(SPIFFE_PREFIX):
            namespace, sep, rest = uri[len(SPIFFE_PREFIX) :].partition("/gateway/")
            if sep and namespace and rest and "/" not in rest:
                return namespace, rest
    return None


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@dataclass(frozen=True)
class Authority:
    cert_pem: bytes
    key_pem: bytes

    @classmethod
    def create(cls, now: dt.datetime) -> Authority:
        key = new_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hatchway-xds-ca")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))

    def _issue(
        self,
        public_key: ec.EllipticCurvePublicKey,
        *,
        common_name: str,
        sans: list[x509.GeneralName],
        usage: x509.ObjectIdentifier,
        now: dt.datetime,
        lifetime: dt.timedelta,
    ) -> bytes:
        ca_cert = x509.load_pem_x509_certificate(self.cert_pem)
        ca_key = serialization.load_pem_private_key(self.key_pem, None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])]))
            .issuer_name(ca_cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(min(now + lifetime, ca_cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM)

    def server_certificate(self, dns_names: list[str], now: dt.datetime) -> tuple[bytes, bytes]:
        """(certificate, key) for the controller's xDS, certificate and webhook endpoints;
        an IP address among the names becomes an IP SAN (a webhook reached by URL)."""
        key = new_key()
        sans: list[x509.GeneralName] = [_san(n) for n in dns_names]
        cert = self._issue(
            key.public_key(),
            common_name=dns_names[0],
            sans=sans,
            usage=ExtendedKeyUsageOID.SERVER_AUTH,
            now=now,
            lifetime=SERVER_LIFETIME,
        )
        return cert, _pem_key(key)

    def sign_proxy(self, csr_pem: bytes, namespace: str, name: str, now: dt.datetime) -> bytes:
        """A proxy certificate for Gateway `namespace/name` over the key of `csr_pem`. Only the
        key is taken from the request: identity comes from the caller's checks."""
        csr = x509.load_pem_x509_csr(csr_pem)
        if not csr.is_signature_valid:
            raise ValueError("the certificate request's signature does not verify")
        public_key = csr.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise ValueError("the certificate request must hold an EC key")
        uri = x509.UniformResourceIdentifier(gateway_uri(namespace, name))
        return self._issue(
            public_key,
            common_name=f"{namespace}/{name}",
            sans=[uri],
            usage=ExtendedKeyUsageOID.CLIENT_AUTH,
            now=now,
            lifetime=PROXY_LIFETIME,
        )


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def certificate_request(key: ec.EllipticCurvePrivateKey, subject: str) -> bytes:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject[:64])]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return _pem_key(key)


def not_after(cert_pem: bytes) -> dt.datetime:
    return x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc


def not_before(cert_pem: bytes) -> dt.datetime:
    return x509.load_pem_x509_certificate(cert_pem).not_valid_before_utc
