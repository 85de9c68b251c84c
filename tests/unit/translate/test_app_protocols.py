"""Service port appProtocols the gateway speaks, and EndpointSlices as a cluster writes them."""

from __future__ import annotations

from typing import Any

import pytest

from hatchway.translate import translate
from snapshots import parse


def docs(app_protocol: str | None, slice_body: dict[str, Any] | None = None) -> list[Any]:
    port: dict[str, Any] = {"name": "web", "port": 443, "targetPort": 8443}
    if app_protocol is not None:
        port["appProtocol"] = app_protocol
    return [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "hw"},
            "spec": {"controllerName": "hatchway.dev/gateway-controller"},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "gw"},
            "spec": {
                "gatewayClassName": "hw",
                "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
            },
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "r"},
            "spec": {
                "parentRefs": [{"name": "gw"}],
                "rules": [{"backendRefs": [{"name": "svc", "port": 443}]}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "svc"},
            "spec": {"ports": [port]},
        },
        slice_body
        or {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": "svc-1", "labels": {"kubernetes.io/service-name": "svc"}},
            "addressType": "IPv4",
            "ports": [{"name": "web", "port": 8443}],
            "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": True}}],
        },
    ]


def resolved_refs(documents: list[Any]) -> tuple[str, str]:
    parsed = parse(documents, "t")
    assert not parsed.errors, parsed.errors
    report = translate(parsed.snapshot).report
    route = report.get("HTTPRoute", "default", "r")
    assert route is not None
    cond = next(c for c in route.status.parents[0].conditions if c.type == "ResolvedRefs")  # type: ignore[union-attr]
    return cond.status.value, cond.reason


@pytest.mark.parametrize("app", [None, "http", "HTTPS", "https", "kubernetes.io/h2c"])
def test_supported_app_protocols_resolve(app: str | None) -> None:
    # HTTPS: the TLS itself comes from a BackendTLSPolicy (conformance's BackendTLSPolicy tests).
    assert resolved_refs(docs(app)) == ("True", "ResolvedRefs")


def test_unknown_app_protocol_is_unsupported() -> None:
    assert resolved_refs(docs("example.com/carrier-pigeon")) == ("False", "UnsupportedProtocol")


def test_endpoint_slice_with_null_lists_is_an_empty_slice() -> None:
    """kube-controller-manager writes `endpoints: null, ports: null` when no Pod is ready."""
    empty = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "svc-1", "labels": {"kubernetes.io/service-name": "svc"}},
        "addressType": "IPv4",
        "endpoints": None,
        "ports": None,
    }
    parsed = parse(docs(None, empty), "t")
    assert not parsed.errors
    ir = translate(parsed.snapshot).ir
    assert [c.endpoints for c in ir.clusters] == [()]  # a cluster with no endpoints: 503
