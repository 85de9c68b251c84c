"""Access logs end to end: Envoy writes one line per HTTP request, TCP connection and UDP
session, naming the Gateway API objects that served it, to serve's stdout, a file, or
nowhere (`--access-log off`), as JSON or text."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.echo import EchoPool
from e2e.harness import Hatchway, free_port, http_request, wait_for, write_yaml
from e2e.l4echo import L4Echo, tcp_hello, udp_ask
from manifests import backend, gateway, gateway_class, l4_service, listener, parent, route

pytestmark = pytest.mark.e2e

Factory = Callable[..., Hatchway]

HTTP_FIELDS = {
    "time",
    "method",
    "authority",
    "path",
    "protocol",
    "status",
    "duration_ms",
    "bytes_received",
    "bytes_sent",
    "response_flags",
    "upstream_host",
    "request_id",
    "gateway",
    "listener",
    "route",
    "route_kind",
    "rule",
    "rule_name",
    "backend",
}


@pytest.fixture(scope="module")
def l4() -> Iterator[dict[str, L4Echo]]:
    servers = {"db": L4Echo("db"), "dns": L4Echo("dns", kind="udp")}
    yield servers
    for s in servers.values():
        s.close()


@pytest.fixture
def config(tmp_path: Path, echo_pool: EchoPool, l4: dict[str, L4Echo]) -> dict[str, Any]:
    """Gateway `edge` (namespace infra): HTTP listener `web`, TCP `db`, UDP `dns`. HTTPRoute
    apps/shop: rule 0 `/cart` (named `cart`) -> cart, rule 1 `/broken` -> a missing Service."""
    cart = echo_pool.servers.get("cart") or echo_pool.start("cart")
    ports = {"web": free_port(), "db": free_port(), "dns": free_port()}
    docs: list[Any] = [
        gateway_class(),
        gateway(
            "edge",
            [
                listener(
                    "web", ports["web"], "HTTP", allowedRoutes={"namespaces": {"from": "All"}}
                ),
                listener("db", ports["db"], "TCP"),
                listener("dns", ports["dns"], "UDP"),
            ],
            namespace="infra",
        ),
        route(
            "HTTPRoute",
            "shop",
            [parent("edge", "web", namespace="infra")],
            [
                {
                    "name": "cart",
                    "matches": [{"path": {"type": "PathPrefix", "value": "/cart"}}],
                    "backendRefs": [backend("cart", 8080)],
                },
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/broken"}}],
                    "backendRefs": [backend("missing", 8080)],
                },
            ],
            namespace="apps",
        ),
        route(
            "TCPRoute",
            "pg",
            [parent("edge", "db")],
            [{"backendRefs": [backend("db", 5432)]}],
            namespace="infra",
        ),
        route(
            "UDPRoute",
            "resolver",
            [parent("edge", "dns")],
            [{"backendRefs": [backend("dns", 53)]}],
            namespace="infra",
        ),
        *l4_service("cart", cart.port, namespace="apps", port=8080),
        *l4_service("db", l4["db"].port, namespace="infra", port=5432),
        *l4_service("dns", l4["dns"].port, namespace="infra", port=53, protocol="UDP"),
    ]
    directory = tmp_path / "config"
    directory.mkdir()
    write_yaml(directory / "all.yaml", docs)
    return {"dir": directory, "ports": ports}


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _lines(path)]


def test_json_lines_on_stdout_name_the_gateway_api_objects(
    config: dict[str, Any], hatchway_factory: Factory, tmp_path: Path
) -> None:
    out = tmp_path / "stdout"
    hatchway_factory(config["dir"], stdout_path=out)
    web = config["ports"]["web"]
    r = http_request(web, "/cart/items?id=7", host="shop.example")
    assert r.status == 200
    assert http_request(web, "/broken", host="shop.example").status == 500
    assert http_request(web, "/nowhere", host="shop.example").status == 404
    assert tcp_hello(config["ports"]["db"])[0].startswith("db")
    assert wait_for(lambda: _udp(config["ports"]["dns"]), 10, "a UDP answer").startswith(b"dns|")

    def logged() -> list[dict[str, Any]] | None:
        recs = _records(out)
        # TCP logs when the connection closes, UDP when its session ends (idle timeout):
        # wait for the HTTP lines and the TCP one.
        return recs if len(recs) >= 4 else None

    recs = wait_for(logged, 15, "four access log lines", every=0.2)
    http = [r for r in recs if "method" in r]
    cart = next(r for r in http if r["path"] == "/cart/items?id=7")
    assert set(cart) == HTTP_FIELDS
    assert cart["method"] == "GET" and cart["authority"] == "shop.example"
    assert cart["status"] == 200 and isinstance(cart["duration_ms"], int)
    # The edge makes its own request id (a client's is not trusted) and the backend sees it.
    assert cart["request_id"] == r.json()["headers"]["x-request-id"][0]
    assert cart["response_flags"] == "-"
    assert cart["upstream_host"].startswith("127.0.0.1:")
    assert cart["time"].endswith("Z") and "T" in cart["time"]
    assert (cart["gateway"], cart["listener"]) == ("infra/edge", "web")
    assert (cart["route"], cart["route_kind"], cart["rule"], cart["rule_name"]) == (
        "apps/shop",
        "HTTPRoute",
        0,
        "cart",
    )
    assert cart["backend"] == "apps/cart:8080"
    broken = next(r for r in http if r["path"] == "/broken")
    assert broken["status"] == 500 and broken["rule"] == 1 and broken["rule_name"] is None
    assert broken["route"] == "apps/shop" and broken["backend"] is None
    nowhere = next(r for r in http if r["path"] == "/nowhere")
    # No route matched: the listener is known, the route is not.
    assert nowhere["status"] == 404 and nowhere["route"] is None
    assert (nowhere["gateway"], nowhere["listener"]) == ("infra/edge", "web")
    assert nowhere["response_flags"] == "NR"
    tcp = next(r for r in recs if r.get("protocol") == "TCP")
    assert (tcp["gateway"], tcp["listener"], tcp["route"], tcp["route_kind"]) == (
        "infra/edge",
        "db",
        "infra/pg",
        "TCPRoute",
    )
    assert tcp["rule"] == 0 and tcp["backend"] == "infra/db:5432"
    assert tcp["bytes_sent"] > 0 and tcp["upstream_host"].startswith("127.0.0.1:")


def test_udp_sessions_are_logged_when_they_end(
    config: dict[str, Any], hatchway_factory: Factory, tmp_path: Path
) -> None:
    out = tmp_path / "stdout"
    hw = hatchway_factory(config["dir"], stdout_path=out)
    assert wait_for(lambda: _udp(config["ports"]["dns"]), 10, "a UDP answer").startswith(b"dns|")
    # udp_proxy logs a session when it ends (idle timeout, 60 s) or when Envoy stops.
    assert hw.stop() == 0
    udp = [r for r in _records(out) if r.get("protocol") == "UDP"]
    assert udp, _lines(out)
    assert (udp[0]["gateway"], udp[0]["listener"], udp[0]["route"]) == (
        "infra/edge",
        "dns",
        "infra/resolver",
    )
    assert udp[0]["route_kind"] == "UDPRoute" and udp[0]["backend"] == "infra/dns:53"
    assert udp[0]["bytes_received"] >= 5 and udp[0]["bytes_sent"] > udp[0]["bytes_received"]
    assert udp[0]["datagrams_received"] >= 1 and udp[0]["datagrams_sent"] >= 1


def test_text_format_to_a_file(
    config: dict[str, Any], hatchway_factory: Factory, tmp_path: Path
) -> None:
    path = tmp_path / "access.log"
    out = tmp_path / "stdout"
    hatchway_factory(
        config["dir"],
        extra_args=["--access-log", str(path), "--access-log-format", "text"],
        stdout_path=out,
    )
    assert http_request(config["ports"]["web"], "/cart/a", host="shop.example").status == 200
    line = wait_for(lambda: next(iter(_lines(path)), None), 10, "a line in the file", every=0.2)
    assert " method=GET " in line and " status=200 " in line
    assert " gateway=infra/edge listener=web route=apps/shop route_kind=HTTPRoute rule=0 " in line
    assert "rule_name=cart" in line and "backend=apps/cart:8080" in line
    assert _lines(out) == []  # nothing on stdout


def test_off_logs_nothing(
    config: dict[str, Any], hatchway_factory: Factory, tmp_path: Path
) -> None:
    out = tmp_path / "stdout"
    hw = hatchway_factory(config["dir"], extra_args=["--access-log", "off"], stdout_path=out)
    for _ in range(3):
        assert http_request(config["ports"]["web"], "/cart", host="shop.example").status == 200
    assert hw.stop() == 0  # Envoy flushes what it has on the way out
    assert _lines(out) == []


def _udp(port: int) -> bytes | None:
    try:
        return udp_ask(port, b"hello", timeout=1.0)
    except TimeoutError:
        return None
