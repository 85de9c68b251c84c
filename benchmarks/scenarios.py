"""Benchmark inputs, as Gateway API documents (the format `hatchway serve -f` reads).

* `routes_scenario(n)`: the control-plane ladder (issue 2, part 7): N HTTPRoutes over 5
  hostnames (one a wildcard), 3 matches each (path, path + header, path + method + query),
  a header filter and a timeout, over up to 1,000 Services with EndpointSlices.
  `hostnames_per_route=True` gives each route its own hostname instead: the shape that
  exposes hostname x route pairing (growth must stay linear).
* `proxy_scenario(...)`: the data-plane and propagation input: N single-rule HTTPRoutes on
  one hostname whose prefixes have equal length, so Hatchway's precedence keeps creation
  order and the last route is the last one Envoy checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

HOSTNAMES = [f"app{i}.example.com" for i in range(4)] + ["*.wild.example.com"]
PROXY_HOST = "bench.example.com"
GATEWAY = "bench"


def gateway(port: int = 8080) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "hatchway"},
            "spec": {"controllerName": "hatchway.dev/gateway-controller"},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": GATEWAY, "namespace": "default"},
            "spec": {
                "gatewayClassName": "hatchway",
                "listeners": [
                    {
                        "name": "http",
                        "port": port,
                        "protocol": "HTTP",
                        "allowedRoutes": {"namespaces": {"from": "All"}},
                    }
                ],
            },
        },
    ]


def service(name: str, backend_port: int, address: str = "127.0.0.1") -> list[dict[str, Any]]:
    """A Service and its EndpointSlice (one ready endpoint)."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": backend_port}]},
        },
        endpoint_slice(name, backend_port, address),
    ]


def endpoint_slice(service_name: str, port: int, address: str = "127.0.0.1") -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service_name}-1",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": port}],
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
    }


def services(n: int, backend_port: int = 9000) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(n):
        out.extend(service(f"svc-{i}", backend_port))
    return out


def http_route(i: int, n_services: int, own_hostname: bool = False) -> dict[str, Any]:
    host = f"r{i}.example.com" if own_hostname else HOSTNAMES[i % len(HOSTNAMES)]
    svc = f"svc-{i % n_services}"
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": f"route-{i}", "namespace": "default"},
        "spec": {
            "parentRefs": [{"name": GATEWAY}],
            "hostnames": [host],
            "rules": [
                {
                    "matches": [
                        {"path": {"type": "PathPrefix", "value": f"/r{i}/a"}},
                        {
                            "path": {"type": "Exact", "value": f"/r{i}/b"},
                            "headers": [{"name": "x-env", "value": "prod"}],
                        },
                        {
                            "path": {"type": "PathPrefix", "value": f"/r{i}/c"},
                            "method": "POST",
                            "queryParams": [{"name": "v", "value": "2"}],
                        },
                    ],
                    "filters": [
                        {
                            "type": "RequestHeaderModifier",
                            "requestHeaderModifier": {
                                "set": [{"name": "x-route", "value": str(i)}]
                            },
                        },
                    ],
                    "backendRefs": [{"name": svc, "port": 80, "weight": 1}],
                    "timeouts": {"request": "10s"},
                }
            ],
        },
    }


def routes_scenario(
    n_routes: int,
    n_services: int = 1000,
    port: int = 8080,
    hostnames_per_route: bool = False,
    backend_port: int = 9000,
) -> list[dict[str, Any]]:
    n_svc = min(n_services, max(n_routes, 1))
    return [
        *gateway(port),
        *services(n_svc, backend_port),
        *(http_route(i, n_svc, hostnames_per_route) for i in range(n_routes)),
    ]


# --- data plane / propagation -------------------------------------------------------------


def proxy_prefix(i: int) -> str:
    """`/r0000/` ... `/r9999/`: equal lengths, so precedence falls back to creation order."""
    return f"/r{i:04d}/"


def proxy_route(i: int, service_name: str = "backend", marker: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "matches": [{"path": {"type": "PathPrefix", "value": proxy_prefix(i).rstrip("/")}}],
        "backendRefs": [{"name": service_name, "port": 80}],
    }
    if marker is not None:
        # A response header proves *this* version of the route answered.
        rule["filters"] = [
            {
                "type": "ResponseHeaderModifier",
                "responseHeaderModifier": {"set": [{"name": "x-bench-version", "value": marker}]},
            }
        ]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": f"r{i:04d}", "namespace": "default"},
        "spec": {
            "parentRefs": [{"name": GATEWAY}],
            "hostnames": [PROXY_HOST],
            "rules": [rule],
        },
    }


def proxy_scenario(n_routes: int, gateway_port: int, backend_port: int) -> list[dict[str, Any]]:
    return [
        *gateway(gateway_port),
        *service("backend", backend_port),
        *(proxy_route(i) for i in range(n_routes)),
    ]


def write_yaml(path: Path, docs: Iterable[dict[str, Any]]) -> None:
    """Write atomically (temp file + rename), as editors and `kubectl`-like tools do."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(yaml.safe_dump_all(list(docs), sort_keys=False))
    tmp.replace(path)
