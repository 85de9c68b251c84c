"""UDPRoute end to end: datagrams echoed through the gateway, weights across backends (per
UDP session), several routes on one listener (all Accepted, the oldest serves)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.harness import Hatchway, conditions, free_port, status_of, wait_for, write_yaml
from e2e.l4echo import L4Echo, udp_ask
from manifests import backend, gateway, gateway_class, l4_service, listener, parent, route

pytestmark = pytest.mark.e2e

Factory = Callable[..., Hatchway]


@pytest.fixture(scope="module")
def echoes() -> Iterator[dict[str, L4Echo]]:
    servers = {n: L4Echo(n, kind="udp") for n in ("u1", "u2", "u3")}
    yield servers
    for s in servers.values():
        s.close()


@pytest.fixture
def udp_gateway(
    tmp_path: Path, echoes: dict[str, L4Echo], hatchway_factory: Factory
) -> dict[str, Any]:
    port = free_port()
    docs: list[Any] = [
        gateway_class(),
        gateway("gw", [listener("dns", port, "UDP")]),
        route(
            "UDPRoute",
            "newer",
            [parent("gw")],
            [{"backendRefs": [backend("u3", 53)]}],
            created="2025-01-01T00:00:00Z",
        ),
        route(
            "UDPRoute",
            "older",
            [parent("gw")],
            [{"backendRefs": [backend("u1", 53, weight=1), backend("u2", 53, weight=3)]}],
            created="2024-01-01T00:00:00Z",
        ),
    ]
    for name, echo in echoes.items():
        docs += l4_service(name, echo.port, port=53, protocol="UDP")
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "all.yaml", docs)
    hw = hatchway_factory(config)
    return {"port": port, "hw": hw}


def _ask(port: int, payload: bytes) -> bytes | None:
    try:
        return udp_ask(port, payload, timeout=1.0)
    except TimeoutError:
        return None


def test_datagrams_are_echoed(udp_gateway: dict[str, Any]) -> None:
    # The first datagram may race the listener's activation in the worker: retry briefly.
    got = wait_for(lambda: _ask(udp_gateway["port"], b"hello"), 10, "a UDP answer")
    name, _, payload = got.partition(b"|")
    assert payload == b"hello" and name in (b"u1", b"u2")


def test_weights_per_session_and_oldest_route_serves(udp_gateway: dict[str, Any]) -> None:
    port = udp_gateway["port"]
    wait_for(lambda: _ask(port, b"warm"), 10, "a UDP answer")
    counts: Counter[str] = Counter()
    for i in range(120):
        got = _ask(port, f"d{i}".encode())  # a fresh source port: a new session each time
        assert got is not None and got.endswith(f"|d{i}".encode())
        counts[got.split(b"|")[0].decode()] += 1
    assert set(counts) == {"u1", "u2"}, counts
    assert 8 <= counts["u1"] <= 55, counts  # 1:3 expected (30 : 90)


def test_all_routes_accepted_and_counted(udp_gateway: dict[str, Any]) -> None:
    resources = udp_gateway["hw"].admin("/status").json()["resources"]
    for name in ("older", "newer"):
        p = status_of(resources, "UDPRoute", name)["parents"][0]
        assert conditions(p)["Accepted"] == ("True", "Accepted"), name
    gw = status_of(resources, "Gateway", "gw")
    assert gw["listeners"][0]["attachedRoutes"] == 2
