"""HTTPS listeners end to end: certificates from Secrets, SNI selection, ALPN, misdirected
requests (421), cross-namespace certificate references, client-certificate validation and
certificate rotation without a restart. Real Envoy, Python `ssl` and `openssl s_client`."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from e2e.echo import EchoPool
from e2e.envoy_admin import envoy_stats
from e2e.harness import Hatchway, conditions, free_port, status_of, wait_for, write_yaml
from e2e.pki import CA
from e2e.tls_client import (
    H1Connection,
    client_context,
    https_request,
    s_client,
    tls_connect,
)
from manifests import (
    ca_config_map,
    gateway,
    gateway_class,
    listener,
    namespace,
    parent,
    reference_grant,
    route,
    service,
    tls_secret,
)

pytestmark = pytest.mark.e2e

Factory = Callable[..., Hatchway]


def _http_route(name: str, section: str, backend: str, hostnames: list[str] | None = None) -> Any:
    return route(
        "HTTPRoute",
        name,
        [parent("gw", section)],
        [{"backendRefs": [{"name": backend, "port": 80}]}],
        hostnames=hostnames,
    )


@pytest.fixture(scope="module")
def ca() -> CA:
    return CA()


@pytest.fixture
def sni_gateway(tmp_path: Path, echo_pool: EchoPool, ca: CA) -> dict[str, Any]:
    """The conformance shape: a catch-all HTTPS listener (route for example.org only), an
    exact one, a wildcard one and an exact one inside the wildcard, each with its own cert and
    its own backend, all on one port."""
    port = free_port()
    names = {"any": "example.org", "exact": "second-example.org"}
    names |= {"wild": "*.wildcard.org", "inwild": "fourth-example.wildcard.org"}
    docs: list[Any] = [gateway_class()]
    listeners = []
    for section, host in names.items():
        pair = ca.issue(f"cert-{section}", dns=(host,))
        docs.append(tls_secret(f"cert-{section}", pair))
        echo = echo_pool.servers.get(f"be-{section}") or echo_pool.start(f"be-{section}")
        docs += service(f"be-{section}", echo.port)
        hostname = None if section == "any" else host
        listeners.append(listener(section, port, "HTTPS", hostname, certs=(f"cert-{section}",)))
        hosts = ["example.org"] if section == "any" else None
        docs.append(_http_route(f"r-{section}", section, f"be-{section}", hosts))
    docs.append(gateway("gw", listeners))
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "all.yaml", docs)
    (tmp_path / "ca.pem").write_text(ca.pem)
    return {"config": config, "port": port, "ca_file": tmp_path / "ca.pem"}


def test_sni_selects_certificate_and_listener(
    sni_gateway: dict[str, Any], hatchway_factory: Factory, ca: CA
) -> None:
    hatchway_factory(sni_gateway["config"])
    port = sni_gateway["port"]
    cases = [
        ("example.org", "cert-any", "be-any"),
        ("second-example.org", "cert-exact", "be-exact"),
        ("third-example.wildcard.org", "cert-wild", "be-wild"),
        ("a.b.wildcard.org", "cert-wild", "be-wild"),  # a wildcard covers several labels
        ("fourth-example.wildcard.org", "cert-inwild", "be-inwild"),  # exact beats wildcard
    ]
    for sni, cert, backend in cases:
        r = https_request(port, "/x", sni=sni, ca_pem=None)
        assert (r.status, r.peer_cn, r.json()["backend"]) == (200, cert, backend), sni
    # Verified by the client against the test CA (hostname checked against the SNI).
    r = https_request(port, "/", sni="second-example.org", ca_pem=ca.pem)
    assert r.status == 200
    # No SNI at all lands on the catch-all listener's certificate.
    r = https_request(port, "/", sni=None, host="example.org", ca_pem=None)
    assert (r.status, r.peer_cn) == (200, "cert-any")
    out = s_client(port, "second-example.org", sni_gateway["ca_file"])
    assert "subject=CN = cert-exact" in out, out
    assert "Verify return code: 0 (ok)" in out, out


def test_alpn_negotiates_http2_and_http11(
    sni_gateway: dict[str, Any], hatchway_factory: Factory
) -> None:
    hatchway_factory(sni_gateway["config"])
    port = sni_gateway["port"]
    h2 = https_request(port, "/", sni="second-example.org", ca_pem=None, alpn=("h2", "http/1.1"))
    assert (h2.status, h2.alpn, h2.json()["backend"]) == (200, "h2", "be-exact")
    h1 = https_request(port, "/", sni="second-example.org", ca_pem=None, alpn=("http/1.1",))
    assert (h1.status, h1.alpn, h1.json()["backend"]) == (200, "http/1.1", "be-exact")
    out = s_client(port, "example.org", sni_gateway["ca_file"], alpn="h2")
    assert "ALPN protocol: h2" in out, out


# (SNI, Host) -> expected status (and backend for 200s): the conformance truth table of
# HTTPRouteHTTPSListenerDetectMisdirectedRequests, over HTTP/2 as conformance sends it.
MISDIRECTED = [
    ("example.org", "example.org", 200, "be-any"),
    ("example.org", "second-example.org", 421, None),
    ("example.org", "unknown-example.org", 404, None),
    ("second-example.org", "second-example.org", 200, "be-exact"),
    ("second-example.org", "example.org", 421, None),
    ("second-example.org", "unknown-example.org", 421, None),
    ("third-example.wildcard.org", "third-example.wildcard.org", 200, "be-wild"),
    ("third-example.wildcard.org", "fith-example.wildcard.org", 200, "be-wild"),
    ("third-example.wildcard.org", "fourth-example.wildcard.org", 421, None),
    ("third-example.wildcard.org", "second-example.org", 421, None),
    ("third-example.wildcard.org", "unknown-example.org", 421, None),
    ("fourth-example.wildcard.org", "fourth-example.wildcard.org", 200, "be-inwild"),
    ("fourth-example.wildcard.org", "fith-example.wildcard.org", 421, None),
    ("unknown-example.org", "example.org", 200, "be-any"),
    ("unknown-example.org", "unknown-example.org", 404, None),
]


def test_misdirected_requests_get_421(
    sni_gateway: dict[str, Any], hatchway_factory: Factory
) -> None:
    hatchway_factory(sni_gateway["config"])
    port = sni_gateway["port"]
    got = []
    for sni, host, _, _ in MISDIRECTED:
        for alpn in (("h2",), ("http/1.1",)):
            r = https_request(port, "/p", sni=sni, host=host, ca_pem=None, alpn=alpn)
            backend = r.json()["backend"] if r.status == 200 else None
            got.append((sni, host, alpn[0], r.status, backend))
    want = [(s, h, a, st, b) for s, h, st, b in MISDIRECTED for a in ("h2", "http/1.1")]
    assert got == want


def test_cross_namespace_certificate_needs_a_reference_grant(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Factory, ca: CA
) -> None:
    port = free_port()
    echo = echo_pool.servers.get("be-any") or echo_pool.start("be-any")
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(
        config / "all.yaml",
        [
            gateway_class(),
            namespace("certs"),
            tls_secret("shared", ca.issue("cert-shared", dns=("secure.test",)), "certs"),
            *service("be-any", echo.port),
            gateway("gw", [listener("s", port, "HTTPS", "secure.test", (("certs", "shared"),))]),
            _http_route("r", "s", "be-any"),
        ],
    )
    hw = hatchway_factory(config)
    gw = status_of(hw.admin("/status").json()["resources"], "Gateway", "gw")
    assert conditions(gw["listeners"][0])["ResolvedRefs"] == ("False", "RefNotPermitted")
    # Its only listener cannot serve: /readyz says so (and stays 200: see serve.readiness).
    assert "nothing to serve" in hw.readyz().json()["reason"]
    # No usable certificate: the handshake for that name is refused.
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        https_request(port, "/", sni="secure.test", ca_pem=None)

    write_yaml(config / "grant.yaml", [reference_grant("certs", "Gateway", "default", "Secret")])

    def resolved() -> bool:
        gw = status_of(hw.admin("/status").json()["resources"], "Gateway", "gw")
        return conditions(gw["listeners"][0])["ResolvedRefs"] == ("True", "ResolvedRefs")

    wait_for(resolved, 15, "ResolvedRefs=True after the ReferenceGrant")
    r = wait_for(
        lambda: https_request(port, "/", sni="secure.test", ca_pem=ca.pem),
        15,
        "HTTPS served with the granted certificate",
    )
    assert (r.status, r.peer_cn, r.json()["backend"]) == (200, "cert-shared", "be-any")


def test_missing_certificate_is_invalid_certificate_ref(
    tmp_path: Path, hatchway_factory: Factory
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    port = free_port()
    write_yaml(
        config / "all.yaml",
        [gateway_class(), gateway("gw", [listener("s", port, "HTTPS", "a.test", ("nope",))])],
    )
    hw = hatchway_factory(config)
    gw = status_of(hw.admin("/status").json()["resources"], "Gateway", "gw")
    assert conditions(gw["listeners"][0])["ResolvedRefs"] == ("False", "InvalidCertificateRef")


def _frontend_gateway(tmp_path: Path, echo_pool: EchoPool, ca: CA, client_ca: CA) -> Any:
    strict, lenient = free_port(), free_port()
    echo = echo_pool.servers.get("be-any") or echo_pool.start("be-any")
    validation = {"caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": "client-ca"}]}
    frontend = {
        "default": {"validation": validation},
        "perPort": [
            {
                "port": lenient,
                "tls": {"validation": {**validation, "mode": "AllowInsecureFallback"}},
            }
        ],
    }
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(
        config / "all.yaml",
        [
            gateway_class(),
            tls_secret("srv", ca.issue("srv", dns=("mtls.test",))),
            ca_config_map("client-ca", client_ca.pem),
            *service("be-any", echo.port),
            gateway(
                "gw",
                [
                    listener("strict", strict, "HTTPS", "mtls.test", ("srv",)),
                    listener("lenient", lenient, "HTTPS", "mtls.test", ("srv",)),
                ],
                tls={"frontend": frontend},
            ),
            route(
                "HTTPRoute",
                "r",
                [parent("gw")],
                [{"backendRefs": [{"name": "be-any", "port": 80}]}],
            ),
        ],
    )
    return config, strict, lenient


def test_frontend_client_certificate_validation(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Factory, ca: CA
) -> None:
    client_ca, rogue_ca = CA("client CA"), CA("rogue CA")
    good = client_ca.issue("alice", client=True)
    rogue = rogue_ca.issue("mallory", client=True)
    config, strict, lenient = _frontend_gateway(tmp_path, echo_pool, ca, client_ca)
    hw = hatchway_factory(config)

    # AllowValidOnly (the default): a valid client certificate is required.
    r = https_request(strict, "/", sni="mtls.test", ca_pem=ca.pem, client=good)
    assert (r.status, r.json()["backend"]) == (200, "be-any")
    for client in (None, rogue):
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            https_request(strict, "/", sni="mtls.test", ca_pem=ca.pem, client=client)

    # AllowInsecureFallback: connections without (or with an unverifiable) cert still pass.
    for client in (good, None, rogue):
        r = https_request(lenient, "/", sni="mtls.test", ca_pem=ca.pem, client=client)
        assert r.status == 200
    gw = status_of(hw.admin("/status").json()["resources"], "Gateway", "gw")
    assert conditions(gw).get("InsecureFrontendValidationMode", ("", ""))[0] == "True"


def test_rotated_certificate_applies_without_restart_or_dropped_connections(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Factory, ca: CA
) -> None:
    port = free_port()
    echo = echo_pool.servers.get("be-any") or echo_pool.start("be-any")
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(
        config / "gw.yaml",
        [
            gateway_class(),
            *service("be-any", echo.port),
            gateway("gw", [listener("s", port, "HTTPS", "rot.test", ("rot",))]),
            _http_route("r", "s", "be-any"),
        ],
    )
    write_yaml(config / "secret.yaml", [tls_secret("rot", ca.issue("old", dns=("rot.test",)))])
    hw = hatchway_factory(config)
    envoy = hw.envoy_pid()
    listener_stats = _listener_updates(hw)

    ctx = client_context(ca.pem)
    conn = H1Connection(tls_connect(port, "rot.test", ctx))
    try:
        first = conn.request("/1", host="rot.test")
        assert (first.status, first.peer_cn) == (200, "old")

        write_yaml(config / "secret.yaml", [tls_secret("rot", ca.issue("new", dns=("rot.test",)))])
        wait_for(
            lambda: https_request(port, "/", sni="rot.test", ca_pem=ca.pem).peer_cn == "new",
            20,
            "new handshakes to present the rotated certificate",
        )
        # The established connection still works, on its original handshake.
        again = conn.request("/2", host="rot.test")
        assert (again.status, again.peer_cn) == (200, "old")
    finally:
        conn.close()
    assert hw.envoy_pid() == envoy, "Envoy was restarted"
    # A Secret-only update: the listener itself was not replaced (no drain).
    assert _listener_updates(hw) == listener_stats


def _listener_updates(hw: Hatchway) -> tuple[int, int]:
    """Envoy's own count of listener replacements (each one drains connections)."""
    stats = envoy_stats(hw, "listener_manager.")
    return stats.get("listener_manager.listener_modified", 0), stats.get(
        "listener_manager.listener_removed", 0
    )


def test_unknown_sni_without_catch_all_is_refused(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Factory, ca: CA
) -> None:
    port = free_port()
    echo = echo_pool.servers.get("be-any") or echo_pool.start("be-any")
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(
        config / "all.yaml",
        [
            gateway_class(),
            tls_secret("one", ca.issue("one", dns=("one.test",))),
            *service("be-any", echo.port),
            gateway("gw", [listener("s", port, "HTTPS", "one.test", ("one",))]),
            _http_route("r", "s", "be-any"),
        ],
    )
    hatchway_factory(config)
    assert https_request(port, "/", sni="one.test", ca_pem=ca.pem).status == 200
    with pytest.raises((ssl.SSLError, ConnectionError, OSError, socket.timeout)):
        https_request(port, "/", sni="other.test", ca_pem=None)
