"""Synthetic but realistic inputs: N HTTPRoutes over 5 hostnames, 3 matches each, with filters."""

from __future__ import annotations

from typing import Any

HOSTNAMES = [f"app{i}.example.com" for i in range(4)] + ["*.wild.example.com"]


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
            "metadata": {"name": "bench", "namespace": "default"},
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


def services(n: int, backend_port: int = 9000) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(n):
        name = f"svc-{i}"
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": "default"},
                "spec": {"ports": [{"name": "http", "port": 80, "targetPort": backend_port}]},
            }
        )
        out.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"{name}-abc",
                    "namespace": "default",
                    "labels": {"kubernetes.io/service-name": name},
                },
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": backend_port}],
                "endpoints": [
                    {"addresses": ["127.0.0.1"], "conditions": {"ready": True}},
                ],
            }
        )
    return out


def http_route(i: int, n_services: int) -> dict[str, Any]:
    host = HOSTNAMES[i % len(HOSTNAMES)]
    svc = f"svc-{i % n_services}"
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": f"route-{i}", "namespace": "default"},
        "spec": {
            "parentRefs": [{"name": "bench"}],
            "hostnames": [host.replace("*", f"r{i}") if host.startswith("*") else host],
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
    n_routes: int, n_services: int = 1000, port: int = 8080
) -> list[dict[str, Any]]:
    return [
        *gateway(port),
        *services(min(n_services, max(n_routes, 1))),
        *(http_route(i, min(n_services, max(n_routes, 1))) for i in range(n_routes)),
    ]
