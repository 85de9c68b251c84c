"""Tracing end to end: Envoy's OpenTelemetry tracer exports spans over OTLP/gRPC to a real
receiver started here; the spans name the Gateway API objects and carry the attributes of
the Gateway API attribute dictionary (GEP-5253)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.echo import EchoPool
from e2e.harness import Hatchway, free_port, gateway_class, http_request, wait_for, write_yaml
from e2e.manifests import backend, gateway, l4_service, listener, parent, route
from e2e.otlp import Receiver

pytestmark = pytest.mark.e2e

Factory = Callable[..., Hatchway]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _docs(cart_port: int, port: int) -> list[Any]:
    return [
        gateway_class(),
        gateway(
            "edge",
            [listener("web", port, "HTTP", allowedRoutes={"namespaces": {"from": "All"}})],
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
                }
            ],
            namespace="apps",
        ),
        *l4_service("cart", cart_port, namespace="apps", port=8080),
    ]


def _server_span(spans: list[dict[str, Any]], path: str) -> dict[str, Any] | None:
    return next(
        (s for s in spans if s["kind"] == 2 and s["attributes"].get("url.path") == path), None
    )


def test_serve_flag_traces_to_a_collector(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Factory, receiver: Receiver
) -> None:
    cart = echo_pool.servers.get("cart") or echo_pool.start("cart")
    port = free_port()
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "all.yaml", _docs(cart.port, port))
    hatchway_factory(config, extra_args=["--tracing-endpoint", f"127.0.0.1:{receiver.port}"])
    parent_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    r = http_request(
        port,
        "/cart/items?id=7",
        host="shop.example",
        headers={
            "user-agent": "test-agent/1",
            "traceparent": f"00-{parent_trace}-00f067aa0ba902b7-01",
        },
    )
    assert r.status == 200
    # The backend got the trace context: its span's parent is the gateway's.
    seen = r.json()["headers"]["traceparent"][0]
    assert seen.split("-")[1] == parent_trace

    span = wait_for(
        lambda: _server_span(receiver.spans(), "/cart/items"), 15, "the request's span", every=0.2
    )
    assert span["trace_id"] == parent_trace and span["parent_span_id"] == "00f067aa0ba902b7"
    a = span["attributes"]
    assert a["http.request.method"] == "GET"
    assert a["http.response.status_code"] in (200, "200")
    assert a["url.scheme"] == "http" and a["server.address"] == "shop.example"
    assert a["client.address"] == "127.0.0.1" and a["user_agent.original"] == "test-agent/1"
    assert a["http.route"] == "apps/shop"
    assert a["hatchway.dev/gateway"] == "infra/edge" and a["hatchway.dev/listener"] == "web"
    assert a["hatchway.dev/route"] == "apps/shop" and a["hatchway.dev/route_kind"] == "HTTPRoute"
    assert a["hatchway.dev/rule"] in (0, "0") and a["hatchway.dev/rule_name"] == "cart"
    assert a["hatchway.dev/backend"] == "apps/cart:8080"
    assert span["resource"]["service.name"] == "hatchway"
