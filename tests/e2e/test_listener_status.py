"""Listeners that are not programmed stay out of Envoy while their status keeps what the spec
asks: a Conflicted listener keeps its kinds and routes (Accepted, counted), a listener whose
`from: Selector` has no selector is Programmed=False; every other listener serves."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from e2e.echo import EchoPool
from e2e.harness import Hatchway, conditions, free_port, http_request, status_of, write_yaml
from manifests import gateway, gateway_class, listener, parent, route, service

pytestmark = pytest.mark.e2e

Factory = Callable[..., Hatchway]


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_listeners_not_programmed_stay_out_of_envoy_with_their_routes(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Factory
) -> None:
    ok, conflicted, unselected = free_port(), free_port(), free_port()
    echo = echo_pool.servers.get("be-any") or echo_pool.start("be-any")
    selector = {"namespaces": {"from": "Selector"}}
    docs = [
        gateway_class(),
        *service("be-any", echo.port),
        gateway(
            "gw",
            [
                listener("ok", ok, "HTTP"),
                listener("http", conflicted, "HTTP"),
                listener("tcp", conflicted, "TCP"),
                listener("no-selector", unselected, "HTTP", allowedRoutes=selector),
            ],
        ),
        route(
            "HTTPRoute",
            "r",
            [parent("gw", "ok"), parent("gw", "http"), parent("gw", "no-selector")],
            [{"backendRefs": [{"name": "be-any", "port": 80}]}],
        ),
    ]
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "all.yaml", docs)
    hw = hatchway_factory(config)

    assert http_request(ok, "/").headers.get("x-echo-backend") == "be-any"
    assert _refused(conflicted)
    assert _refused(unselected)

    resources = hw.admin("/status").json()["resources"]
    lst = {x["name"]: x for x in status_of(resources, "Gateway", "gw")["listeners"]}
    http = lst["http"]
    assert conditions(http)["Accepted"] == ("False", "ProtocolConflict")
    assert conditions(http)["Conflicted"] == ("True", "ProtocolConflict")
    assert [k["kind"] for k in http["supportedKinds"]] == ["HTTPRoute", "GRPCRoute"]
    assert http["attachedRoutes"] == 1
    assert [k["kind"] for k in lst["tcp"]["supportedKinds"]] == ["TCPRoute"]
    assert conditions(lst["no-selector"])["Accepted"] == ("True", "Accepted")
    assert conditions(lst["no-selector"])["Programmed"] == ("False", "Invalid")
    assert lst["no-selector"]["attachedRoutes"] == 0

    parents = {
        p["parentRef"]["sectionName"]: conditions(p)["Accepted"]
        for p in status_of(resources, "HTTPRoute", "r")["parents"]
    }
    assert parents == {
        "ok": ("True", "Accepted"),
        "http": ("True", "Accepted"),
        "no-selector": ("False", "NotAllowedByListeners"),
    }
