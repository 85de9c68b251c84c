"""GatewayRouteHostnameIntersectionPrecedence (Gateway API v1.7) through a real Envoy: routes
whose hostnames intersect a listener's to the same hostname are ranked by their own hostnames
(exact over wildcard, longer wildcard over shorter) before their matches and their age — for
HTTPRoute, GRPCRoute and TLSRoute."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from e2e.echo import EchoPool
from e2e.grpc_echo import GrpcEcho, call
from e2e.harness import Hatchway, free_port, http_request, write_yaml
from e2e.l4echo import L4Echo, tls_hello
from e2e.pki import CA
from e2e.rig import Rig, echo, running_rig, svc
from e2e.rig import route as rig_route
from e2e.tls_client import client_context
from manifests import backend, gateway, gateway_class, l4_service, listener, parent, prefix, route

pytestmark = pytest.mark.e2e

Factory = Callable[..., Hatchway]
OLDER, NEWER = "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, echo_pool: EchoPool) -> Iterator[Rig]:
    def pair(section: str, older: dict[str, Any], newer: dict[str, Any]) -> list[Any]:
        return [
            rig_route(f"{section}-older", [older], ["*.example.com"], section, OLDER),
            rig_route(f"{section}-newer", [newer], ["abc.example.com"], section, NEWER),
        ]

    to_v1 = [{"name": "v1", "port": 80}]
    to_v2 = [{"name": "v2", "port": 80}]
    header_a = {**prefix("/path"), "headers": [{"name": "Header-A", "value": "A"}]}
    routes = [
        *pair("plain", {"backendRefs": to_v1}, {"backendRefs": to_v2}),
        *pair(
            "path",
            {"matches": [prefix("/path/prefix")], "backendRefs": to_v1},
            {"matches": [prefix("/path")], "backendRefs": to_v2},
        ),
        *pair(
            "header",
            {"matches": [prefix("/path/prefix")], "backendRefs": to_v1},
            {"matches": [header_a], "backendRefs": to_v2},
        ),
        rig_route("wild-older", [{"backendRefs": to_v1}], ["*.com"], "wild", OLDER),
        rig_route("wild-newer", [{"backendRefs": to_v2}], ["*.example.com"], "wild", NEWER),
    ]
    ports = {name: free_port() for name in ("plain", "path", "header", "wild")}
    listeners = [
        {"name": n, "protocol": "HTTP", "port": p, "hostname": "abc.example.com"}
        for n, p in ports.items()
        if n != "wild"
    ]
    listeners.append(
        {"name": "wild", "protocol": "HTTP", "port": ports["wild"], "hostname": "*.example.com"}
    )
    services = [*svc("v1", echo(echo_pool, "v1")), *svc("v2", echo(echo_pool, "v2"))]
    tmp: Path = tmp_path_factory.mktemp("hostprec")
    with running_rig(tmp, routes, services, listeners=listeners) as r:
        r.ports = ports  # type: ignore[attr-defined]
        yield r


def _backend(rig: Rig, listener_name: str, path: str, **kw: Any) -> str | None:
    port = rig.ports[listener_name]  # type: ignore[attr-defined]
    r = http_request(port, path, host="abc.example.com", **kw)
    assert r.status == 200, (listener_name, path, r.status)
    return str(r.json()["backend"])


def test_exact_route_hostname_wins_over_an_older_wildcard(rig: Rig) -> None:
    assert _backend(rig, "plain", "/") == "v2"


def test_the_route_hostname_counts_before_the_path(rig: Rig) -> None:
    # The older wildcard route's longer prefix does not win over the exact route's shorter one.
    assert _backend(rig, "path", "/path/prefix/longer") == "v2"


def test_unmatched_requests_pass_to_the_wildcard_route(rig: Rig) -> None:
    assert _backend(rig, "header", "/path/prefix/longer") == "v1"
    assert _backend(rig, "header", "/path/prefix/longer", headers={"Header-A": "A"}) == "v2"


def test_longer_wildcard_wins_over_a_shorter_older_one(rig: Rig) -> None:
    assert _backend(rig, "wild", "/") == "v2"


# --- GRPCRoute ---------------------------------------------------------------------------------


@pytest.fixture
def grpc_echoes() -> Iterator[dict[str, GrpcEcho]]:
    servers = {n: GrpcEcho(n) for n in ("g1", "g2")}
    yield servers
    for s in servers.values():
        s.close()


def test_grpc_exact_route_hostname_wins(
    tmp_path: Path, grpc_echoes: dict[str, GrpcEcho], hatchway_factory: Factory
) -> None:
    port = free_port()

    def rules_to(name: str) -> list[Any]:
        return [{"backendRefs": [backend(name)]}]

    docs: list[Any] = [
        gateway_class(),
        gateway("gw", [listener("h", port, "HTTP", "abc.example.com")]),
        route(
            "GRPCRoute", "older", [parent("gw")], rules_to("g1"), ["*.example.com"], created=OLDER
        ),
        route(
            "GRPCRoute", "newer", [parent("gw")], rules_to("g2"), ["abc.example.com"], created=NEWER
        ),
    ]
    for name, server in grpc_echoes.items():
        docs += l4_service(name, server.port, app_protocol="kubernetes.io/h2c")
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "all.yaml", docs)
    hatchway_factory(config)
    with grpc.insecure_channel(
        f"127.0.0.1:{port}", options=[("grpc.default_authority", "abc.example.com")]
    ) as ch:
        assert call(ch, "/any.Svc/Call")["backend"] == "g2"


# --- TLSRoute ----------------------------------------------------------------------------------


def test_tls_exact_route_hostname_wins(tmp_path: Path, hatchway_factory: Factory) -> None:
    ca = CA()
    names = ("abc.example.com",)
    servers = {n: L4Echo(n, tls=ca.issue(n, dns=names)) for n in ("p1", "p2", "p3", "p4")}
    try:
        exact, wild = free_port(), free_port()

        def tls_route(name: str, section: str, hosts: list[str], to: str, created: str) -> Any:
            rules = [{"backendRefs": [backend(to)]}]
            return route("TLSRoute", name, [parent("gw", section)], rules, hosts, created=created)

        docs: list[Any] = [
            gateway_class(),
            gateway(
                "gw",
                [
                    listener("exact", exact, "TLS", "abc.example.com", mode="Passthrough"),
                    listener("wild", wild, "TLS", "*.example.com", mode="Passthrough"),
                ],
            ),
            tls_route("wc-older", "exact", ["*.example.com"], "p1", OLDER),
            tls_route("exact-newer", "exact", ["abc.example.com"], "p2", NEWER),
            tls_route("shorter-older", "wild", ["*.com"], "p3", OLDER),
            tls_route("longer-newer", "wild", ["*.example.com"], "p4", NEWER),
        ]
        for name, server in servers.items():
            docs += l4_service(name, server.port)
        config = tmp_path / "config"
        config.mkdir()
        write_yaml(config / "all.yaml", docs)
        hatchway_factory(config)
        ctx = client_context(ca.pem, alpn=())
        assert tls_hello(exact, "abc.example.com", ctx)[0] == "p2 abc.example.com"
        assert tls_hello(wild, "abc.example.com", ctx)[0] == "p4 abc.example.com"
    finally:
        for s in servers.values():
            s.close()
