"""Tracing end to end: Envoy's OpenTelemetry tracer exports spans over OTLP/gRPC to a real
receiver started here; the spans name the Gateway API objects and carry the attributes of
the Gateway API attribute dictionary (GEP-5253)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.echo import EchoPool
from e2e.harness import Hatchway, free_port, http_request, wait_for, write_yaml
from e2e.otlp import Receiver
from manifests import backend, gateway, gateway_class, l4_service, listener, parent, route

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


def _policy(mode: str, **tracing: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"mode": mode, **tracing}
    return {
        "apiVersion": "gateway.networking.x-k8s.io/v1alpha1",
        "kind": "XTelemetryPolicy",
        "metadata": {"name": "tracing", "namespace": "infra"},
        "spec": {
            "targetRefs": [
                {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge"}
            ],
            "tracing": spec,
        },
    }


def test_xtelemetrypolicy_enables_shapes_and_disables_tracing(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Factory, receiver: Receiver
) -> None:
    """The policy's collector is a Service (the receiver), its attributes and names show on
    the spans; Disabled stops them; the policy's status says what applies."""
    cart = echo_pool.servers.get("cart") or echo_pool.start("cart")
    port = free_port()
    config = tmp_path / "config"
    config.mkdir()
    collector = l4_service("otel", receiver.port, namespace="infra", port=4317)
    write_yaml(config / "all.yaml", [*_docs(cart.port, port), *collector])
    enabled = _policy(
        "Enabled",
        provider={"backendRef": {"name": "otel", "port": 4317}},
        serviceName="edge-gateway",
        spanName="edge-request",
        attributes=[
            {"name": "env", "sourceType": "Literal", "literalValue": "prod"},
            {"name": "user", "sourceType": "Header", "headerName": "X-User-Id"},
            {"name": "verb", "sourceType": "Attribute", "attributeKey": "http.request.method"},
        ],
    )
    write_yaml(config / "policy.yaml", [enabled])
    hw = hatchway_factory(config)
    policy = next(
        r for r in hw.admin("/status").json()["resources"] if r["kind"] == "XTelemetryPolicy"
    )
    (ancestor,) = policy["status"]["ancestors"]
    assert ancestor["ancestorRef"]["name"] == "edge"
    assert {c["type"]: c["status"] for c in ancestor["conditions"]} == {
        "Accepted": "True",
        "ResolvedRefs": "True",
    }

    r = http_request(port, "/cart/one", host="shop.example", headers={"x-user-id": "u-42"})
    assert r.status == 200
    span = wait_for(
        lambda: _server_span(receiver.spans(), "/cart/one"), 15, "the request's span", every=0.2
    )
    assert span["name"] == "edge-request"
    assert span["resource"]["service.name"] == "edge-gateway"
    a = span["attributes"]
    assert (a["env"], a["user"], a["verb"]) == ("prod", "u-42", "GET")
    assert a["hatchway.dev/route"] == "apps/shop"

    write_yaml(config / "policy.yaml", [_policy("Disabled")])
    wait_for(lambda: hw.readyz().json()["generation"] >= 2, 10, "the disabled policy applied")
    before = len(receiver.spans())
    for i in range(5):
        assert http_request(port, f"/cart/off{i}", host="shop.example").status == 200
    # Envoy exports every 5 s: two periods without a span.
    time.sleep(11)
    assert len(receiver.spans()) == before
