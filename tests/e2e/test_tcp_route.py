"""TCPRoute end to end: weighted backends, several routes on one listener (all Accepted and
counted, the oldest serves), and invalid backends closing connections (weighted)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.harness import Hatchway, conditions, free_port, status_of, write_yaml
from e2e.l4echo import L4Echo, closed_without_data, tcp_hello
from manifests import backend, gateway, gateway_class, l4_service, listener, parent, route

pytestmark = pytest.mark.e2e

Factory = Callable[..., Hatchway]


@pytest.fixture(scope="module")
def echoes() -> Iterator[dict[str, L4Echo]]:
    servers = {n: L4Echo(n) for n in ("t1", "t2", "t3")}
    yield servers
    for s in servers.values():
        s.close()


@pytest.fixture
def tcp_gateway(
    tmp_path: Path, echoes: dict[str, L4Echo], hatchway_factory: Factory
) -> dict[str, Any]:
    main, broken, half = free_port(), free_port(), free_port()
    docs: list[Any] = [
        gateway_class(),
        gateway(
            "gw",
            [
                listener("main", main, "TCP"),
                listener("broken", broken, "TCP"),
                listener("half", half, "TCP"),
            ],
        ),
        # Newer, listed first: must not take the traffic from the older route.
        route(
            "TCPRoute",
            "newer",
            [parent("gw", "main")],
            [{"backendRefs": [backend("t3")]}],
            created="2025-01-01T00:00:00Z",
        ),
        route(
            "TCPRoute",
            "older",
            [parent("gw", "main")],
            [{"backendRefs": [backend("t1", weight=1), backend("t2", weight=3)]}],
            created="2024-01-01T00:00:00Z",
        ),
        route(
            "TCPRoute", "to-nothing", [parent("gw", "broken")], [{"backendRefs": [backend("x")]}]
        ),
        route(
            "TCPRoute",
            "half",
            [parent("gw", "half")],
            [{"backendRefs": [backend("t1", weight=1), backend("x", weight=1)]}],
        ),
    ]
    for name, echo in echoes.items():
        docs += l4_service(name, echo.port)
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "all.yaml", docs)
    hw = hatchway_factory(config)
    return {"main": main, "broken": broken, "half": half, "hw": hw}


def test_weights_and_oldest_route_serves(tcp_gateway: dict[str, Any]) -> None:
    counts: Counter[str] = Counter()
    for i in range(120):
        banner, echoed = tcp_hello(tcp_gateway["main"], f"msg {i}\n".encode())
        assert echoed == f"msg {i}\n".encode()
        counts[banner.split()[0]] += 1
    assert set(counts) == {"t1", "t2"}, counts  # never t3: the newer route does not serve
    # 1:3 expected (30 : 90); 5 sigma is about +-24.
    assert 8 <= counts["t1"] <= 55, counts


def test_all_routes_accepted_and_counted(tcp_gateway: dict[str, Any]) -> None:
    resources = tcp_gateway["hw"].admin("/status").json()["resources"]
    for name in ("older", "newer"):
        p = status_of(resources, "TCPRoute", name)["parents"][0]
        assert conditions(p)["Accepted"] == ("True", "Accepted"), name
    gw = status_of(resources, "Gateway", "gw")
    main = next(lst for lst in gw["listeners"] if lst["name"] == "main")
    assert main["attachedRoutes"] == 2


def test_invalid_backend_closes_connections(tcp_gateway: dict[str, Any]) -> None:
    assert closed_without_data(tcp_gateway["broken"])
    p = status_of(tcp_gateway["hw"].admin("/status").json()["resources"], "TCPRoute", "to-nothing")
    assert conditions(p["parents"][0])["ResolvedRefs"] == ("False", "BackendNotFound")
    outcomes: Counter[str] = Counter()
    for _ in range(60):
        try:
            outcomes[tcp_hello(tcp_gateway["half"])[0].split()[0]] += 1
        except (ConnectionError, OSError):
            outcomes["closed"] += 1
    assert set(outcomes) == {"t1", "closed"}, outcomes
