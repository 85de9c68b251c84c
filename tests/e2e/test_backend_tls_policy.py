"""BackendTLSPolicy end to end: TLS from Envoy to an HTTPS echo backend with the CA from a
ConfigMap, SNI from `hostname`, subjectAltNames validation, failures for a wrong CA, host or
SAN (never a plaintext fallback), policy status on its ancestor, and the Gateway's own client
certificate (spec.tls.backend.clientCertificateRef) presented to the backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
from e2e.tls_echo import TLSEchoServer, server_context
from manifests import (
    ca_config_map,
    gateway,
    gateway_class,
    l4_service,
    listener,
    parent,
    route,
    tls_secret,
)

pytestmark = pytest.mark.e2e

Factory = Callable[..., Hatchway]


def _policy(
    name: str,
    service: str,
    hostname: str,
    ca: str = "backend-ca",
    sans: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    validation: dict[str, Any] = {
        "caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": ca}],
        "hostname": hostname,
    }
    if sans:
        validation["subjectAltNames"] = sans
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "BackendTLSPolicy",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "targetRefs": [{"group": "", "kind": "Service", "name": service}],
            "validation": validation,
        },
    }


@pytest.fixture
def btls(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Factory
) -> Iterator[dict[str, Any]]:
    backend_ca, other_ca, client_ca = CA("backend CA"), CA("other CA"), CA("gateway client CA")
    server_cert = backend_ca.issue(
        "secure-backend", dns=("backend.test",), uris=("spiffe://test/backend",)
    )
    # A fresh backend per test: its certificate comes from this test's CAs.
    secure = echo_pool.add(
        TLSEchoServer("tls-secure", ssl_context=server_context(server_cert, client_ca.pem))
    )
    plain = echo_pool.servers.get("plain") or echo_pool.start("plain")
    port = free_port()
    # Every Service points at the same TLS backend (or, for `invalid`, a *plaintext* one:
    # a fallback to plaintext would answer 200 there).
    cases = {
        "ok": ("backend.test", "backend-ca", None),
        "wronghost": ("other.test", "backend-ca", None),
        "wrongca": ("backend.test", "other-ca", None),
        "san-uri": ("other.test", "backend-ca", [{"type": "URI", "uri": "spiffe://test/backend"}]),
        "san-bad": ("backend.test", "backend-ca", [{"type": "Hostname", "hostname": "nope.test"}]),
        "invalid": ("backend.test", "missing-ca", None),
    }
    docs: list[Any] = [
        gateway_class(),
        ca_config_map("backend-ca", backend_ca.pem),
        ca_config_map("other-ca", other_ca.pem),
        tls_secret("gw-client", client_ca.issue("gw-client", client=True)),
        gateway(
            "gw",
            [listener("http", port, "HTTP")],
            tls={"backend": {"clientCertificateRef": {"name": "gw-client"}}},
        ),
        route(
            "HTTPRoute",
            "r",
            [parent("gw")],
            [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": f"/{c}"}}],
                    "backendRefs": [{"name": c, "port": 443}],
                }
                for c in cases
            ],
        ),
    ]
    for case, (hostname, ca, sans) in cases.items():
        target = plain.port if case == "invalid" else secure.port
        docs += l4_service(case, target, port=443)
        docs.append(_policy(f"p-{case}", case, hostname, ca, sans))
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "all.yaml", docs)
    hw = hatchway_factory(config)
    yield {"port": port, "hw": hw, "config": config, "backend_ca": backend_ca}
    echo_pool.stop("tls-secure")


def test_tls_to_backend_with_ca_sni_and_gateway_client_cert(btls: dict[str, Any]) -> None:
    r = http_request(btls["port"], "/ok")
    assert r.status == 200, r.body
    body = r.json()
    assert body["backend"] == "tls-secure"
    assert body["tls"] == {"sni": "backend.test", "client_cn": "gw-client"}


def test_san_validation(btls: dict[str, Any]) -> None:
    # SNI is still `hostname`; the certificate is checked against the URI SAN instead.
    r = http_request(btls["port"], "/san-uri")
    assert r.status == 200 and r.json()["tls"]["sni"] == "other.test"
    assert 500 <= http_request(btls["port"], "/san-bad").status <= 599


@pytest.mark.parametrize("path", ["/wronghost", "/wrongca", "/invalid"])
def test_verification_failures_never_reach_the_backend(btls: dict[str, Any], path: str) -> None:
    r = http_request(btls["port"], path)
    assert 500 <= r.status <= 599, (r.status, r.body)
    assert b'"backend"' not in r.body


def test_policy_status_on_its_ancestor(btls: dict[str, Any]) -> None:
    resources = btls["hw"].admin("/status").json()["resources"]
    ok = status_of(resources, "BackendTLSPolicy", "p-ok")["ancestors"]
    assert [a["ancestorRef"]["name"] for a in ok] == ["gw"]
    assert ok[0]["controllerName"] == "hatchway.dev/gateway-controller"
    assert conditions(ok[0])["Accepted"] == ("True", "Accepted")
    assert conditions(ok[0])["ResolvedRefs"] == ("True", "ResolvedRefs")
    bad = status_of(resources, "BackendTLSPolicy", "p-invalid")["ancestors"][0]
    assert conditions(bad)["Accepted"] == ("False", "NoValidCACertificate")
    assert conditions(bad)["ResolvedRefs"] == ("False", "InvalidCACertificateRef")
    gw = status_of(resources, "Gateway", "gw")
    assert conditions(gw)["ResolvedRefs"] == ("True", "ResolvedRefs")


def test_ca_config_map_change_is_applied(btls: dict[str, Any]) -> None:
    """Conformance reconciles ConfigMap content: creating the missing CA makes `invalid`
    valid (and its TLS then fails against the plaintext backend, still never 200)."""
    write_yaml(
        btls["config"] / "late-ca.yaml", [ca_config_map("missing-ca", btls["backend_ca"].pem)]
    )

    def accepted() -> bool:
        resources = btls["hw"].admin("/status").json()["resources"]
        anc = status_of(resources, "BackendTLSPolicy", "p-invalid")["ancestors"][0]
        return conditions(anc)["Accepted"] == ("True", "Accepted")

    wait_for(accepted, 15, "the policy to become Accepted once its ConfigMap exists")
    r = http_request(btls["port"], "/invalid")
    assert 500 <= r.status <= 599


# --- BackendTLSPolicy with GRPCRoute and with TLSRoute Terminate (conformance v1.7) ------------


def test_grpc_route_to_a_tls_backend(tmp_path: Path, hatchway_factory: Factory) -> None:
    """HTTP/2 over TLS to a gRPC backend (ALPN h2): the policy's CA and hostname apply; a
    hostname the certificate does not have fails the call (UNAVAILABLE), never plaintext."""
    import grpc

    from e2e.grpc_echo import GrpcEcho, call, call_code

    ca = CA("grpc backend CA")
    server = GrpcEcho("grpc-tls", tls=ca.issue("grpc-tls", dns=("grpc.backend.test",)))
    try:
        port = free_port()
        docs: list[Any] = [
            gateway_class(),
            ca_config_map("grpc-ca", ca.pem),
            gateway("gw", [listener("h", port, "HTTP")]),
            route(
                "GRPCRoute",
                "g",
                [parent("gw")],
                [
                    {
                        "matches": [{"method": {"service": f"{svc}.Svc"}}],
                        "backendRefs": [{"name": svc, "port": 443}],
                    }
                    for svc in ("good", "mismatch")
                ],
            ),
        ]
        for svc, host in (("good", "grpc.backend.test"), ("mismatch", "other.test")):
            docs += l4_service(svc, server.port, port=443)
            docs.append(_policy(f"p-{svc}", svc, host, "grpc-ca"))
        config = tmp_path / "config"
        config.mkdir()
        write_yaml(config / "all.yaml", docs)
        hatchway_factory(config)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            assert call(ch, "/good.Svc/Echo")["backend"] == "grpc-tls"
            code, _ = call_code(ch, "/mismatch.Svc/Echo")
            assert code is grpc.StatusCode.UNAVAILABLE
        assert server.calls == ["/good.Svc/Echo"]
    finally:
        server.close()


def test_tls_route_terminate_to_a_tls_backend(tmp_path: Path, hatchway_factory: Factory) -> None:
    """A TLS listener terminates the client's TLS; the policy makes Envoy open a new TLS
    connection to the backend (SNI = the policy hostname, certificate checked)."""
    from e2e.l4echo import L4Echo, tls_hello
    from e2e.tls_client import client_context

    front_ca, back_ca = CA("front CA"), CA("back CA")
    backend = L4Echo("tls-backend", tls=back_ca.issue("tls-backend", dns=("abc.example.com",)))
    try:
        port = free_port()
        docs: list[Any] = [
            gateway_class(),
            tls_secret("front", front_ca.issue("front", dns=("tls.example.com",))),
            ca_config_map("back-ca", back_ca.pem),
            gateway(
                "gw",
                [listener("t", port, "TLS", "tls.example.com", ("front",), mode="Terminate")],
            ),
            route(
                "TLSRoute",
                "term",
                [parent("gw")],
                [{"backendRefs": [{"name": "tls-backend", "port": 8443}]}],
                ["tls.example.com"],
            ),
            *l4_service("tls-backend", backend.port, port=8443),
            _policy("p", "tls-backend", "abc.example.com", "back-ca"),
        ]
        config = tmp_path / "config"
        config.mkdir()
        write_yaml(config / "all.yaml", docs)
        hatchway_factory(config)
        ctx = client_context(front_ca.pem, alpn=())
        banner, echoed, cert_cn = tls_hello(port, "tls.example.com", ctx)
        # The client saw the gateway's certificate; the backend saw TLS with the policy's SNI.
        assert (banner, echoed, cert_cn) == ("tls-backend abc.example.com", b"ping\n", "front")
    finally:
        backend.close()


def test_websocket_over_tls_backend(tmp_path: Path, hatchway_factory: Factory) -> None:
    """A Service port with appProtocol kubernetes.io/wss: WebSocket over TLS to the backend,
    the TLS from its BackendTLSPolicy. Without a policy it is never sent in plaintext: the
    backendRef is unresolved (UnsupportedProtocol) and its requests get 500."""
    import base64
    import os
    import socket

    from e2e.ws_backend import WebSocketEcho, accept_key, frame, read_frame, read_head

    ca = CA("wss CA")
    backend = WebSocketEcho("wss", tls=server_context(ca.issue("wss", dns=("ws.backend.test",))))
    try:
        port = free_port()
        docs: list[Any] = [
            gateway_class(),
            ca_config_map("wss-ca", ca.pem),
            gateway("gw", [listener("h", port, "HTTP")]),
            route(
                "HTTPRoute",
                "r",
                [parent("gw")],
                [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": f"/{svc}"}}],
                        "backendRefs": [{"name": svc, "port": 443}],
                    }
                    for svc in ("secure", "nopolicy")
                ],
            ),
            *l4_service("secure", backend.port, port=443, app_protocol="kubernetes.io/wss"),
            *l4_service("nopolicy", backend.port, port=443, app_protocol="kubernetes.io/wss"),
            _policy("p", "secure", "ws.backend.test", "wss-ca"),
        ]
        config = tmp_path / "config"
        config.mkdir()
        write_yaml(config / "all.yaml", docs)
        hw = hatchway_factory(config)
        key = base64.b64encode(os.urandom(16)).decode()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(
                (
                    "GET /secure HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"
                ).encode()
            )
            head = read_head(s).decode("latin-1").lower()
            assert head.startswith("http/1.1 101"), head
            assert f"sec-websocket-accept: {accept_key(key)}".lower() in head
            s.sendall(frame(b"hello", mask=True))
            assert read_frame(s) == b"wss: hello"
        assert http_request(port, "/nopolicy").status == 500
        route_status = status_of(hw.admin("/status").json()["resources"], "HTTPRoute", "r")
        resolved = conditions(route_status["parents"][0])["ResolvedRefs"]
        assert resolved == ("False", "UnsupportedProtocol")
    finally:
        backend.close()
