"""The xDS certificate authority: what it signs, for whom, and what a certificate says."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hatchway import pki as certificates
from hatchway.pki import Authority

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def ca() -> Authority:
    return Authority.create(NOW)


def test_proxy_certificate_names_its_gateway_and_only_that(ca: Authority) -> None:
    key = certificates.new_key()
    csr = certificates.certificate_request(key, "shop/web")
    cert = ca.sign_proxy(csr, "shop", "web", NOW)
    assert certificates.gateway_of(cert) == ("shop", "web")
    parsed = x509.load_pem_x509_certificate(cert)
    assert parsed.public_key().public_numbers() == key.public_key().public_numbers()
    assert certificates.not_after(cert) - NOW == certificates.PROXY_LIFETIME
    usage = parsed.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
    # Signed by the CA: verification with the CA's public key passes.
    parsed.verify_directly_issued_by(x509.load_pem_x509_certificate(ca.cert_pem))


def test_identity_comes_from_the_caller_not_the_request(ca: Authority) -> None:
    """A request whose subject claims another Gateway gets the one it was signed for."""
    csr = certificates.certificate_request(certificates.new_key(), "other/admin")
    cert = ca.sign_proxy(csr, "shop", "web", NOW)
    assert certificates.gateway_of(cert) == ("shop", "web")


def test_rsa_or_forged_requests_are_refused(ca: Authority) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
        .sign(rsa_key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    with pytest.raises(ValueError, match="EC key"):
        ca.sign_proxy(csr, "shop", "web", NOW)
    good = certificates.certificate_request(certificates.new_key(), "shop/web")
    der = bytearray(x509.load_pem_x509_csr(good).public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0xFF  # break the signature
    forged = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(ValueError, match="signature"):
        ca.sign_proxy(forged, "shop", "web", NOW)


def test_certificates_without_a_gateway_uri_name_none(ca: Authority) -> None:
    cert, _ = ca.server_certificate(["hatchway.hatchway-system.svc"], NOW)
    assert certificates.gateway_of(cert) is None
    assert certificates.gateway_of(b"not a certificate") is None


def test_mutual_tls_with_issued_certificates(ca: Authority, tmp_path: Path) -> None:
    """A real TLS handshake: the server certificate verifies for its DNS name, the proxy's
    client certificate verifies against the CA, and the server sees which Gateway it is."""
    now = dt.datetime.now(dt.UTC)
    ca_now = Authority.create(now)
    server_cert, server_key = ca_now.server_certificate(["xds.test"], now)
    proxy_key = certificates.new_key()
    proxy_cert = ca_now.sign_proxy(
        certificates.certificate_request(proxy_key, "shop/web"), "shop", "web", now
    )
    files = {
        "ca.pem": ca_now.cert_pem,
        "server.pem": server_cert,
        "server.key": server_key,
        "proxy.pem": proxy_cert,
        "proxy.key": certificates.key_pem(proxy_key),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=tmp_path / "ca.pem")
    server_ctx.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.create_default_context(cafile=tmp_path / "ca.pem")
    client_ctx.load_cert_chain(tmp_path / "proxy.pem", tmp_path / "proxy.key")
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[tuple[str, str] | None] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            der = tls.getpeercert(binary_form=True)
            assert der is not None
            pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
            seen.append(certificates.gateway_of(pem))
            tls.sendall(b"ok")

    thread = threading.Thread(target=serve)
    thread.start()
    with (
        socket.create_connection(listener.getsockname(), timeout=5) as raw,
        client_ctx.wrap_socket(raw, server_hostname="xds.test") as tls,
    ):
        assert tls.recv(2) == b"ok"
    thread.join(5)
    listener.close()
    assert seen == [("shop", "web")]
