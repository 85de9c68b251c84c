"""Builders for the manifests the TLS, gRPC and layer-4 end-to-end tests need (plain dicts).

They complement `harness.gateway`/`harness.http_route` (HTTP only) without changing them.
"""

from __future__ import annotations

from typing import Any

GW_API = "gateway.networking.k8s.io/v1"
GW_ALPHA = "gateway.networking.k8s.io/v1alpha2"


def listener(
    name: str,
    port: int,
    protocol: str,
    hostname: str | None = None,
    certs: tuple[str | tuple[str, str], ...] = (),
    mode: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """`certs`: Secret names, or (namespace, name) for cross-namespace references."""
    out: dict[str, Any] = {"name": name, "port": port, "protocol": protocol, **extra}
    if hostname:
        out["hostname"] = hostname
    if certs or mode:
        tls: dict[str, Any] = {}
        if mode:
            tls["mode"] = mode
        if certs:
            tls["certificateRefs"] = [
                {"name": c} if isinstance(c, str) else {"namespace": c[0], "name": c[1]}
                for c in certs
            ]
        out["tls"] = tls
    return out


def gateway(
    name: str,
    listeners: list[dict[str, Any]],
    namespace: str = "default",
    tls: dict[str, Any] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"gatewayClassName": "hatchway", "listeners": listeners}
    if tls is not None:
        spec["tls"] = tls
    return {
        "apiVersion": GW_API,
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def parent(gateway_name: str, section: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": gateway_name, **extra}
    if section:
        out["sectionName"] = section
    return out


def backend(name: str, port: int = 80, weight: int | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "port": port, **extra}
    if weight is not None:
        out["weight"] = weight
    return out


def route(
    kind: str,
    name: str,
    parents: list[dict[str, Any]],
    rules: list[dict[str, Any]],
    hostnames: list[str] | None = None,
    namespace: str = "default",
    created: str | None = None,
) -> dict[str, Any]:
    """Any route kind; `created` sets creationTimestamp (it decides "oldest wins")."""
    version = GW_API if kind in ("HTTPRoute", "GRPCRoute") else GW_ALPHA
    spec: dict[str, Any] = {"parentRefs": parents, "rules": rules}
    if hostnames:
        spec["hostnames"] = hostnames
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if created:
        meta["creationTimestamp"] = created
    return {"apiVersion": version, "kind": kind, "metadata": meta, "spec": spec}


def l4_service(
    name: str,
    target_port: int,
    namespace: str = "default",
    port: int = 80,
    protocol: str = "TCP",
    app_protocol: str | None = None,
) -> list[dict[str, Any]]:
    """A one-port Service (any transport) and its loopback EndpointSlice."""
    svc_port: dict[str, Any] = {
        "name": "p",
        "port": port,
        "targetPort": target_port,
        "protocol": protocol,
    }
    if app_protocol:
        svc_port["appProtocol"] = app_protocol
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"ports": [svc_port]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": f"{name}-1",
                "namespace": namespace,
                "labels": {"kubernetes.io/service-name": name},
            },
            "addressType": "IPv4",
            "ports": [{"name": "p", "port": target_port, "protocol": protocol}],
            "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
        },
    ]


def reference_grant(
    namespace: str, from_kind: str, from_namespace: str, to_kind: str, to_name: str | None = None
) -> dict[str, Any]:
    to: dict[str, Any] = {"group": "", "kind": to_kind}
    if to_name:
        to["name"] = to_name
    return {
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": f"allow-{from_namespace}", "namespace": namespace},
        "spec": {
            "from": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": from_kind,
                    "namespace": from_namespace,
                }
            ],
            "to": [to],
        },
    }


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def status_of(resources: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The status block of one object from the admin API's `/status` list."""
    for r in resources:
        if r["kind"] == kind and r["metadata"]["name"] == name:
            return dict(r["status"])
    raise AssertionError(f"no {kind}/{name} in status: {[r['kind'] for r in resources]}")


def conditions(block: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """{type: (status, reason)} of a `conditions` list."""
    return {c["type"]: (c["status"], c["reason"]) for c in block.get("conditions", [])}
