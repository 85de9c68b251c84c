"""A small cluster, as the controller would see it, and the objects the tests admit into it."""

from __future__ import annotations

from typing import Any

import yaml

import snapshots
from hatchway.model.snapshot import Snapshot

GW = "gateway.networking.k8s.io/v1"

CLUSTER = """
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: ours}
spec: {controllerName: hatchway.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: theirs}
spec: {controllerName: example.com/another-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: ours
  listeners:
  - {name: http, port: 8080, protocol: HTTP, hostname: "*.example.com"}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: other, namespace: default}
spec:
  gatewayClassName: theirs
  listeners: [{name: http, port: 9090, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: extra, namespace: default}
spec:
  parentRef: {name: gw}
  listeners: [{name: more, port: 8081, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: default}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: first, namespace: default, creationTimestamp: "2020-01-01T00:00:00Z"}
spec:
  parentRefs: [{name: gw}]
  hostnames: [app.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /app}}]
    backendRefs: [{name: svc, port: 80}]
"""


def documents(text: str = CLUSTER) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def snapshot(*extra: dict[str, Any], text: str = CLUSTER) -> Snapshot:
    return snapshots.snapshot([*documents(text), *extra], "cluster")


def route(
    spec: dict[str, Any],
    name: str = "r",
    kind: str = "HTTPRoute",
    created: str = "2021-01-01T00:00:00Z",
    namespace: str = "default",
) -> dict[str, Any]:
    """A route as the API server hands it to a webhook (namespace and timestamp set)."""
    return {
        "apiVersion": GW,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": created},
        "spec": spec,
    }


def rule(path: str = "/", kind: str = "PathPrefix", **extra: Any) -> dict[str, Any]:
    return {
        "matches": [{"path": {"type": kind, "value": path}}],
        "backendRefs": [{"name": "svc", "port": 80}],
        **extra,
    }


def on_gw(*rules: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """A route spec attached to our Gateway, on the listener's hostnames."""
    return {
        "parentRefs": [{"name": "gw"}],
        "hostnames": ["app.example.com"],
        "rules": list(rules),
        **spec,
    }
