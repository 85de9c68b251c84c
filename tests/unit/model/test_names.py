"""Names and namespaces are checked as the API server checks them (DNS-1123 subdomain for
most names, DNS-1123 label for namespaces and Namespaces, DNS-1035 label for Services), so
`namespace/name` keys cannot collide: one Gateway is never served another's certificate."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2

import snapshots
from e2e.pki import CA
from hatchway import xds
from hatchway.translate import translate
from manifests import tls_secret

GW = "gateway.networking.k8s.io/v1"


def parse(*bodies: dict[str, Any]) -> Any:
    return snapshots.parse(bodies)


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"kind": "HTTPRoute", "metadata": {"name": "Bad_Name"}}, "metadata.name", "subdomain"),
        (
            {"kind": "HTTPRoute", "metadata": {"name": "r", "namespace": "team/x"}},
            "metadata.namespace",
            "label",
        ),
        ({"kind": "Secret", "metadata": {"name": "x/key"}}, "metadata.name", "subdomain"),
        ({"kind": "Namespace", "metadata": {"name": "a.b"}}, "metadata.name", "RFC 1123 label"),
        ({"kind": "Service", "metadata": {"name": "1st"}}, "metadata.name", "DNS-1035"),
        ({"kind": "Gateway", "metadata": {"name": "g" * 254}}, "metadata.name", "at most 253"),
    ],
)
def test_names_the_api_server_refuses_are_refused(
    body: dict[str, Any], field: str, rule: str
) -> None:
    api = "v1" if body["kind"] in ("Secret", "Namespace", "Service") else GW
    result = parse({"apiVersion": api, "spec": {}, **body})
    (error,) = result.errors
    assert (error.file, error.document, error.field) == ("in.yaml", 0, field)
    assert rule in error.message
    assert len(error.message) < 600


def test_valid_names_load() -> None:
    result = parse(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web-1", "namespace": "team-a"},
        },
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls.web-1"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
    )
    assert result.errors == ()


def _gateway(namespace: str, host: str, secret: str) -> dict[str, Any]:
    return {
        "apiVersion": GW,
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": namespace},
        "spec": {
            "gatewayClassName": "hatchway",
            "listeners": [
                {
                    "name": "https",
                    "port": 443,
                    "protocol": "HTTPS",
                    "hostname": host,
                    "tls": {"certificateRefs": [{"name": secret}]},
                }
            ],
        },
    }


def _served(resources: xds.XdsResources) -> dict[str, set[str]]:
    """SNI -> the certificate CNs its filter chains serve."""
    out: dict[str, set[str]] = {}
    for lis in resources.listeners.values():
        for chain in lis.filter_chains:
            if not chain.transport_socket.typed_config.Is(tls_pb2.DownstreamTlsContext.DESCRIPTOR):
                continue
            ctx = tls_pb2.DownstreamTlsContext()
            chain.transport_socket.typed_config.Unpack(ctx)
            for ref in ctx.common_tls_context.tls_certificate_sds_secret_configs:
                chain_pem = resources.secrets[ref.name].tls_certificate.certificate_chain
                pem = chain_pem.inline_string.encode()
                cert = x509.load_pem_x509_certificate(pem)
                cn = str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
                for sni in chain.filter_chain_match.server_names:
                    out.setdefault(sni, set()).add(cn)
    return out


def test_namespace_slash_name_keys_cannot_collide() -> None:
    """Secret `x/key` in `team` and Secret `key` in `team/x` were both `team/x/key`: the two
    Gateways were served one certificate."""
    ca = CA()
    a = ca.issue("a.example.com", dns=("a.example.com",))
    b = ca.issue("b.example.com", dns=("b.example.com",))
    result = parse(
        {
            "apiVersion": GW,
            "kind": "GatewayClass",
            "metadata": {"name": "hatchway"},
            "spec": {"controllerName": "hatchway.dev/gateway-controller"},
        },
        _gateway("team", "a.example.com", "x/key"),
        tls_secret("x/key", a, namespace="team"),
        _gateway("team/x", "b.example.com", "key"),
        tls_secret("key", b, namespace="team/x"),
    )
    resources = xds.build(translate(result.snapshot).ir)
    for sni, cns in _served(resources).items():
        assert cns == {sni}, f"{sni} is served the certificate of {cns}"
    refused = {(e.kind, e.namespace, e.name, e.field) for e in result.errors}
    assert refused == {
        ("Secret", "team", "x/key", "metadata.name"),
        ("Gateway", "team/x", "gw", "metadata.namespace"),
        ("Secret", "team/x", "key", "metadata.namespace"),
    }
