"""TLSRoute end to end: passthrough routed by SNI (exact beats wildcard, the listener hostname
intersection), terminate mode forwarding plain TCP, both modes on one port, and rejected
connections closed (never answered with a TLS alert)."""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.harness import Hatchway, conditions, free_port, status_of, write_yaml
from e2e.l4echo import L4Echo, tls_hello
from e2e.pki import CA
from e2e.tls_client import client_context
from manifests import (
    backend,
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


@pytest.fixture(scope="module")
def ca() -> CA:
    return CA()


@pytest.fixture(scope="module")
def backends(ca: CA) -> Iterator[dict[str, L4Echo]]:
    names = ("*.example.com", "*.x.example.com", "abc.example.com", "*.wild.test")
    servers = {
        "p1": L4Echo("p1", tls=ca.issue("p1", dns=names)),
        "p2": L4Echo("p2", tls=ca.issue("p2", dns=names)),
        "p3": L4Echo("p3", tls=ca.issue("p3", dns=names)),
        "t1": L4Echo("t1"),
    }
    yield servers
    for s in servers.values():
        s.close()


@pytest.fixture
def tls_gateway(
    tmp_path: Path, backends: dict[str, L4Echo], ca: CA, hatchway_factory: Factory
) -> dict[str, Any]:
    port = free_port()

    def tls_route(name: str, section: str, hosts: list[str], to: str) -> Any:
        return route(
            "TLSRoute", name, [parent("gw", section)], [{"backendRefs": [backend(to)]}], hosts
        )

    docs: list[Any] = [
        gateway_class(),
        tls_secret("term", ca.issue("term", dns=("term.test",))),
        gateway(
            "gw",
            [
                listener("any", port, "TLS", mode="Passthrough"),
                listener("wild", port, "TLS", "*.wild.test", mode="Passthrough"),
                listener("term", port, "TLS", "term.test", ("term",), mode="Terminate"),
            ],
        ),
        tls_route("exact", "any", ["abc.example.com"], "p1"),
        tls_route("star", "any", ["*.example.com"], "p2"),
        # Wider than its listener: only names under *.wild.test reach it.
        tls_route("wild", "wild", ["*.test"], "p3"),
        tls_route("terminated", "term", ["term.test"], "t1"),
        tls_route("broken", "any", ["bad.example.com"], "does-not-exist"),
    ]
    for name, echo in backends.items():
        docs += l4_service(name, echo.port)
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "all.yaml", docs)
    hw = hatchway_factory(config)
    return {"port": port, "hw": hw}


def test_passthrough_routes_by_sni(tls_gateway: dict[str, Any], ca: CA) -> None:
    port = tls_gateway["port"]
    ctx = client_context(ca.pem, alpn=())
    cases = {
        "abc.example.com": "p1",  # the exact route beats the wildcard one
        "x.example.com": "p2",
        "deep.x.example.com": "p2",
        "a.wild.test": "p3",  # route *.test narrowed to the listener's *.wild.test
    }
    for sni, want in cases.items():
        banner, echoed, cert_cn = tls_hello(port, sni, ctx)
        # End-to-end TLS: the backend's own certificate, and it saw the client's SNI.
        assert (banner, echoed, cert_cn) == (f"{want} {sni}", b"ping\n", want), sni


def test_terminate_mode_forwards_plain_tcp_on_the_same_port(
    tls_gateway: dict[str, Any], ca: CA
) -> None:
    ctx = client_context(ca.pem, alpn=())
    banner, echoed, cert_cn = tls_hello(tls_gateway["port"], "term.test", ctx)
    # The gateway's certificate, and the backend got cleartext (no SNI: it saw no TLS).
    assert (banner, echoed, cert_cn) == ("t1 -", b"ping\n", "term")


def _client_hello(sni: str) -> bytes:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with contextlib.suppress(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def _answer_to_hello(port: int, sni: str) -> bytes | None:
    """The gateway's first bytes after a ClientHello; None for a close or reset."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(_client_hello(sni))
        try:
            data = s.recv(5)
        except ConnectionResetError:
            return None
        return data or None


@pytest.mark.parametrize(
    "sni",
    [
        "unknown.org",  # no route for the name
        "zzz.test",  # matches the route's *.test but not its listener's *.wild.test
        "bad.example.com",  # a route whose only backend is invalid
    ],
)
def test_rejected_handshake_is_closed_not_alerted(tls_gateway: dict[str, Any], sni: str) -> None:
    assert _answer_to_hello(tls_gateway["port"], sni) is None
    # Sanity: the same probe gets a TLS answer (handshake record 0x16) for a routed name.
    answer = _answer_to_hello(tls_gateway["port"], "x.example.com")
    assert answer is not None and answer[0] == 0x16


def test_route_status(tls_gateway: dict[str, Any]) -> None:
    resources = tls_gateway["hw"].admin("/status").json()["resources"]
    for name in ("exact", "star", "wild", "terminated"):
        parents = status_of(resources, "TLSRoute", name)["parents"]
        assert conditions(parents[0])["Accepted"] == ("True", "Accepted"), name
        assert conditions(parents[0])["ResolvedRefs"] == ("True", "ResolvedRefs"), name
    broken = status_of(resources, "TLSRoute", "broken")["parents"][0]
    assert conditions(broken)["ResolvedRefs"] == ("False", "BackendNotFound")
    gw = status_of(resources, "Gateway", "gw")
    for lst in gw["listeners"]:
        assert conditions(lst)["Accepted"] == ("True", "Accepted"), lst["name"]
