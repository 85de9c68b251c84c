"""ClusterTrustBundles in caCertificateRefs (GEP-5075, feature ClusterTrustBundle) through a
real Envoy, read from files: BackendTLSPolicy validation of a TLS backend, Gateway frontend
client-certificate validation, and a bundle that changes or goes away (never the old trust
anchors kept)."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from e2e.echo import EchoPool
from e2e.harness import (
    Hatchway,
    conditions,
    free_port,
    http_request,
    status_of,
    wait_for,
    write_yaml,
)
from e2e.pki import CA
from e2e.tls_client import https_request
from e2e.tls_echo import TLSEchoServer, server_context
from manifests import (
    gateway,
    gateway_class,
    l4_service,
    listener,
    parent,
    route,
    service,
    tls_secret,
)

pytestmark = pytest.mark.e2e

Factory = Callable[..., Hatchway]
REF = {"group": "certificates.k8s.io", "kind": "ClusterTrustBundle"}


def bundle(name: str, pem: str) -> dict[str, Any]:
    return {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "ClusterTrustBundle",
        "metadata": {"name": name},
        "spec": {"signerName": "example.com/test", "trustBundle": pem},
    }


def policy_state(hw: Hatchway, name: str) -> tuple[str, str]:
    resources = hw.admin("/status").json()["resources"]
    ancestor = status_of(resources, "BackendTLSPolicy", name)["ancestors"][0]
    return conditions(ancestor)["ResolvedRefs"]


def test_backend_tls_policy_trusts_a_cluster_trust_bundle(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Factory
) -> None:
    backend_ca, other_ca = CA("bundle CA"), CA("other CA")
    server = echo_pool.add(
        TLSEchoServer("ctb-tls", ssl_context=server_context(backend_ca.issue("b", dns=("b.test",))))
    )
    try:
        port = free_port()
        config = tmp_path / "config"
        config.mkdir()
        write_yaml(
            config / "all.yaml",
            [
                gateway_class(),
                gateway("gw", [listener("h", port, "HTTP")]),
                route(
                    "HTTPRoute",
                    "r",
                    [parent("gw")],
                    [{"backendRefs": [{"name": "b", "port": 443}]}],
                ),
                *l4_service("b", server.port, port=443),
                {
                    "apiVersion": "gateway.networking.k8s.io/v1",
                    "kind": "BackendTLSPolicy",
                    "metadata": {"name": "p", "namespace": "default"},
                    "spec": {
                        "targetRefs": [{"group": "", "kind": "Service", "name": "b"}],
                        "validation": {
                            "caCertificateRefs": [{**REF, "name": "example.com:test:b"}],
                            "hostname": "b.test",
                        },
                    },
                },
            ],
        )
        bundles = config / "bundles.yaml"
        write_yaml(bundles, [bundle("example.com:test:b", backend_ca.pem)])
        hw = hatchway_factory(config)
        r = http_request(port, "/x")
        assert (r.status, r.json()["backend"]) == (200, "ctb-tls")
        assert policy_state(hw, "p") == ("True", "ResolvedRefs")

        # The bundle changes to another CA: the backend's certificate is no longer trusted.
        write_yaml(bundles, [bundle("example.com:test:b", other_ca.pem)])
        wait_for(lambda: 500 <= http_request(port, "/x").status <= 599, 15, "TLS to fail")
        # Back to the right CA, then the bundle is deleted: invalid, and the old anchors go.
        write_yaml(bundles, [bundle("example.com:test:b", backend_ca.pem)])
        wait_for(lambda: http_request(port, "/x").status == 200, 15, "TLS to work again")
        bundles.unlink()
        wait_for(lambda: 500 <= http_request(port, "/x").status <= 599, 15, "TLS to fail")
        assert policy_state(hw, "p") == ("False", "InvalidCACertificateRef")
    finally:
        echo_pool.stop("ctb-tls")


def test_frontend_validation_trusts_a_cluster_trust_bundle(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Factory
) -> None:
    server_ca, client_ca, rogue_ca = CA("server CA"), CA("client CA"), CA("rogue CA")
    echo = echo_pool.servers.get("be-any") or echo_pool.start("be-any")
    port = free_port()
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(
        config / "all.yaml",
        [
            gateway_class(),
            tls_secret("srv", server_ca.issue("srv", dns=("mtls.test",))),
            bundle("clients", client_ca.pem),
            *service("be-any", echo.port),
            gateway(
                "gw",
                [listener("s", port, "HTTPS", "mtls.test", ("srv",))],
                tls={
                    "frontend": {
                        "default": {
                            "validation": {"caCertificateRefs": [{**REF, "name": "clients"}]}
                        }
                    }
                },
            ),
            route(
                "HTTPRoute",
                "r",
                [parent("gw")],
                [{"backendRefs": [{"name": "be-any", "port": 80}]}],
            ),
        ],
    )
    hw = hatchway_factory(config)
    good = client_ca.issue("alice", client=True)
    r = https_request(port, "/", sni="mtls.test", ca_pem=server_ca.pem, client=good)
    assert r.status == 200
    for client in (None, rogue_ca.issue("mallory", client=True)):
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            https_request(port, "/", sni="mtls.test", ca_pem=server_ca.pem, client=client)
    gw = status_of(hw.admin("/status").json()["resources"], "Gateway", "gw")
    assert conditions(gw["listeners"][0])["ResolvedRefs"] == ("True", "ResolvedRefs")
    classes = [r for r in hw.admin("/status").json()["resources"] if r["kind"] == "GatewayClass"]
    assert {"name": "ClusterTrustBundle"} in classes[0]["status"]["supportedFeatures"]
