"""SDS Secrets: listener certificates and frontend client-CA validation contexts.

Served over ADS and referenced by name from the listeners, so a renewed certificate is a
Secret update only: Envoy applies it to new handshakes without draining the listener.
"""

from __future__ import annotations

from envoy.extensions.transport_sockets.tls.v3 import common_pb2, secret_pb2

from hatchway.ir import Listener
from hatchway.xds import names
from hatchway.xds.resources import SECRET, ResourceSet


def build_secrets(listener: Listener, out: ResourceSet) -> None:
    for chain in listener.chains:
        if chain.tls is None:
            continue
        for cert in chain.tls.certificates:
            name = names.certificate_secret_name(cert.name)
            if not out.has(SECRET, name):
                s = secret_pb2.Secret()
                s.name = name
                s.tls_certificate.certificate_chain.inline_string = cert.cert_pem
                s.tls_certificate.private_key.inline_string = cert.key_pem
                out.add(SECRET, name, s, (chain.listener,))
            else:
                out.add_origins(SECRET, name, (chain.listener,))
        cv = chain.tls.client_validation
        if cv is not None:
            s = secret_pb2.Secret()
            s.name = names.client_ca_secret_name(listener, chain)
            s.validation_context.trusted_ca.inline_string = cv.ca_pem
            if cv.allow_insecure_fallback:
                # Gateway API AllowInsecureFallback: an unverifiable client cert still connects.
                s.validation_context.trust_chain_verification = (
                    common_pb2.CertificateValidationContext.ACCEPT_UNTRUSTED
                )
            out.add(SECRET, s.name, s, (chain.listener,))
