"""A large synthetic snapshot for timing translate (used by the perf test and by hand)."""

from __future__ import annotations

from typing import Any

from hatchway.model.snapshot import Snapshot
from snapshots import snapshot


def scale_documents(routes: int, services: int) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "hatchway"},
            "spec": {"controllerName": "hatchway.dev/gateway-controller"},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "gw", "namespace": "default"},
            "spec": {
                "gatewayClassName": "hatchway",
                "listeners": [
                    {"name": "http", "port": 80, "protocol": "HTTP"},
                    {"name": "wild", "port": 80, "protocol": "HTTP", "hostname": "*.example.com"},
                ],
            },
        },
    ]
    for s in range(services):
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"svc-{s}", "namespace": "default"},
                "spec": {"ports": [{"name": "http", "port": 8080}]},
            }
        )
        docs.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"svc-{s}-1",
                    "namespace": "default",
                    "labels": {"kubernetes.io/service-name": f"svc-{s}"},
                },
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": 3000}],
                "endpoints": [{"addresses": [f"10.{s // 250}.{s % 250}.1"]}],
            }
        )
    for r in range(routes):
        docs.append(
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": {"name": f"route-{r}", "namespace": "default"},
                "spec": {
                    "parentRefs": [{"name": "gw"}],
                    "hostnames": [f"h{r}-{h}.example.com" for h in range(4)]
                    + ["shared.example.com"],
                    "rules": [
                        {
                            "matches": [
                                {"path": {"type": "PathPrefix", "value": f"/r{r}/a"}},
                                {"path": {"type": "Exact", "value": f"/r{r}/b"}},
                                {"headers": [{"name": "x-route", "value": str(r)}]},
                            ],
                            "backendRefs": [{"name": f"svc-{r % services}", "port": 8080}],
                        }
                    ],
                },
            }
        )
    return docs


def scale_snapshot(routes: int, services: int) -> Snapshot:
    return snapshot(scale_documents(routes, services), "scale")
