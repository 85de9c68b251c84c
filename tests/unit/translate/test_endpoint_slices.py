"""EndpointSlice addresses Envoy cannot dial never reach it: an address that is not an IP of
the slice's type is refused as the API server refuses it; an FQDN slice is skipped with a
warning naming it. Either way the other endpoints serve and Envoy gets nothing to NACK."""

from __future__ import annotations

from typing import Any

from hatchway import xds
from hatchway.translate import translate
from snapshots import parse

SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {"ports": [{"name": "http", "port": 80}]},
}
GATEWAY: list[dict[str, Any]] = [
    {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": "hatchway"},
        "spec": {"controllerName": "hatchway.dev/gateway-controller"},
    },
    {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw"},
        "spec": {
            "gatewayClassName": "hatchway",
            "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
        },
    },
    {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r"},
        "spec": {
            "parentRefs": [{"name": "gw"}],
            "rules": [{"backendRefs": [{"name": "web", "port": 80}]}],
        },
    },
]


def endpoint_slice(name: str, address_type: str, *addresses: str) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": address_type,
        "ports": [{"name": "http", "port": 8080}],
        "endpoints": [{"addresses": [a]} for a in addresses],
    }


def load(*objects: dict[str, Any]) -> Any:
    return parse([*GATEWAY, SERVICE, *objects])


def test_an_address_that_is_not_an_ip_of_the_slice_type_is_refused() -> None:
    result = load(
        endpoint_slice("good", "IPv4", "10.0.0.1"),
        endpoint_slice("bad", "IPv4", "10.0.0.2", "not-an-ip"),
        endpoint_slice("v6-in-v4", "IPv4", "fd00::1"),
    )
    assert [(e.name, e.field) for e in result.errors] == [
        ("bad", "endpoints[1].addresses[0]"),
        ("v6-in-v4", "endpoints[0].addresses[0]"),
    ]
    assert result.errors[0].message == 'Invalid value: "not-an-ip": must be a valid IPv4 address'
    assert [s.metadata.name for s in result.snapshot.endpoint_slices] == ["good"]


def test_an_fqdn_slice_is_skipped_with_a_warning_naming_it() -> None:
    result = load(
        endpoint_slice("ips", "IPv4", "10.0.0.1"),
        endpoint_slice("names", "FQDN", "backend.example.com"),
    )
    assert result.errors == ()
    out = translate(result.snapshot)
    warnings = [(w.object, w.message) for w in out.report.warnings]
    assert (
        "EndpointSlice/default/names",
        "addressType FQDN is not supported; its endpoints are skipped",
    ) in warnings
    (cluster,) = out.ir.clusters
    assert [e.address for e in cluster.endpoints] == ["10.0.0.1"]
    assert xds.validate(xds.build(out.ir)) == []
