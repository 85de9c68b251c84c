"""Builders of the Kubernetes objects tests give Hatchway, as plain dicts a user would write.

One module for every suite: the e2e tests write them to files for `hatchway serve`, the
controller tests create them in a real kube-apiserver, the provisioned tests on the full rig.
A builder writes only the fields it is given, so an object is exactly what the test says.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

Doc = dict[str, Any]

GW_API = "gateway.networking.k8s.io/v1"
GW_BETA = "gateway.networking.k8s.io/v1beta1"
GW_ALPHA = "gateway.networking.k8s.io/v1alpha2"
CLASS = "hatchway"  # the GatewayClass `hatchway serve` takes by default
CONTROLLER = "hatchway.dev/gateway-controller"


class CertificatePair(Protocol):
    """A certificate and its key in PEM (as `e2e.pki` issues them)."""

    cert_pem: str
    key_pem: str


def namespace(name: str) -> Doc:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def gateway_class(name: str = CLASS, controller: str = CONTROLLER) -> Doc:
    return {
        "apiVersion": GW_API,
        "kind": "GatewayClass",
        "metadata": {"name": name},
        "spec": {"controllerName": controller},
    }


def listener(
    name: str = "http",
    port: int | None = None,
    protocol: str = "HTTP",
    hostname: str | None = None,
    certs: tuple[str | tuple[str, str], ...] = (),
    mode: str | None = None,
    **extra: Any,
) -> Doc:
    """`port=None` leaves the port out (a rig fills it in); `certs`: Secret names, or
    (namespace, name) for cross-namespace references."""
    out: Doc = {"name": name, "protocol": protocol, **extra}
    if port is not None:
        out["port"] = port
    if hostname:
        out["hostname"] = hostname
    if certs or mode:
        tls: Doc = {}
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
    listeners: list[Doc],
    namespace: str = "default",
    class_name: str = CLASS,
    **spec: Any,
) -> Doc:
    """`spec`: further Gateway spec fields (`tls`, `addresses`, `infrastructure`, ...)."""
    return {
        "apiVersion": GW_API,
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"gatewayClassName": class_name, "listeners": listeners, **spec},
    }


def http_gateway(name: str, port: int, namespace: str = "default", **spec: Any) -> Doc:
    """A Gateway with one catch-all HTTP listener called `http`."""
    return gateway(name, [listener("http", port)], namespace, **spec)


def parent(gateway_name: str, section: str | None = None, **extra: Any) -> Doc:
    """A parentRef; `extra`: `namespace`, `port`, ..."""
    out: Doc = {"name": gateway_name, **extra}
    if section:
        out["sectionName"] = section
    return out


def backend(name: str, port: int = 80, weight: int | None = None, **extra: Any) -> Doc:
    out: Doc = {"name": name, "port": port, **extra}
    if weight is not None:
        out["weight"] = weight
    return out


def to(*names: str, weights: Iterable[int] | None = None, **extra: Any) -> list[Doc]:
    """backendRefs to Services (port 80) with optional weights."""
    ws = list(weights) if weights is not None else [None] * len(names)
    refs: list[Doc] = []
    for n, w in zip(names, ws, strict=True):
        ref: Doc = {"name": n, "port": 80, **extra}  # `extra` may set any field, even weight
        if w is not None:
            ref["weight"] = w
        refs.append(ref)
    return refs


def prefix(value: str) -> Doc:
    """An HTTPRoute match on a path prefix."""
    return {"path": {"type": "PathPrefix", "value": value}}


def route(
    kind: str,
    name: str,
    parents: list[Doc],
    rules: list[Doc],
    hostnames: Iterable[str] | None = None,
    namespace: str = "default",
    created: str | None = None,
) -> Doc:
    """Any route kind; `created` sets creationTimestamp (it decides "oldest wins")."""
    version = GW_API if kind in ("HTTPRoute", "GRPCRoute") else GW_ALPHA
    spec: Doc = {"parentRefs": parents, "rules": rules}
    if hostnames:
        spec["hostnames"] = list(hostnames)
    meta: Doc = {"name": name, "namespace": namespace}
    if created:
        meta["creationTimestamp"] = created
    return {"apiVersion": version, "kind": kind, "metadata": meta, "spec": spec}


def http_route(
    name: str, gateway_name: str, rules: Iterable[tuple[str, str]], namespace: str = "default"
) -> Doc:
    """`rules`: (path prefix, Service name), each Service on port 80."""
    return route(
        "HTTPRoute",
        name,
        [parent(gateway_name)],
        [{"matches": [prefix(p)], "backendRefs": [backend(svc)]} for p, svc in rules],
        namespace=namespace,
    )


def catch_all_route(
    name: str, gateway_name: str, service: str, namespace: str = "default", port: int = 80
) -> Doc:
    """An HTTPRoute whose one rule (no match: everything) goes to `service`:`port`."""
    rules = [{"backendRefs": [backend(service, port)]}]
    return route("HTTPRoute", name, [parent(gateway_name)], rules, namespace=namespace)


def service(
    name: str,
    target_port: int,
    namespace: str = "default",
    *,
    port: int = 80,
    port_name: str = "http",
    protocol: str | None = None,
    app_protocol: str | None = None,
    ready: bool = True,
    endpoints: bool = True,
) -> list[Doc]:
    """A one-port Service and the EndpointSlice giving it one loopback endpoint at
    `target_port` (`ready=False`: not ready; `endpoints=False`: no EndpointSlice at all)."""
    svc_port: Doc = {"name": port_name, "port": port, "targetPort": target_port}
    slice_port: Doc = {"name": port_name, "port": target_port}
    if protocol is not None:
        svc_port["protocol"] = slice_port["protocol"] = protocol
    if app_protocol is not None:
        svc_port["appProtocol"] = app_protocol
    docs: list[Doc] = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"ports": [svc_port]},
        }
    ]
    if endpoints:
        docs.append(endpoint_slice(f"{name}-1", name, slice_port, ready, namespace))
    return docs


def l4_service(
    name: str,
    target_port: int,
    namespace: str = "default",
    port: int = 80,
    protocol: str = "TCP",
    app_protocol: str | None = None,
) -> list[Doc]:
    """A one-port Service of any transport (its port named `p`) and its loopback endpoint."""
    return service(
        name,
        target_port,
        namespace,
        port=port,
        port_name="p",
        protocol=protocol,
        app_protocol=app_protocol,
    )


def endpoint_slice(
    name: str,
    service_name: str,
    port: Doc,
    ready: bool = True,
    namespace: str = "default",
    addresses: Iterable[str] = ("127.0.0.1",),
) -> Doc:
    """An EndpointSlice of `service_name`: one endpoint an address (default one on loopback)."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "ports": [port],
        "endpoints": [{"addresses": [a], "conditions": {"ready": ready}} for a in addresses],
    }


def reference_grant(
    namespace: str, from_kind: str, from_namespace: str, to_kind: str, to_name: str | None = None
) -> Doc:
    to: Doc = {"group": "", "kind": to_kind}
    if to_name:
        to["name"] = to_name
    return {
        "apiVersion": GW_BETA,
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


def secret(name: str, type_: str, string_data: dict[str, str], namespace: str = "default") -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": type_,
        "stringData": string_data,
    }


def tls_secret(name: str, pair: CertificatePair, namespace: str = "default") -> Doc:
    data = {"tls.crt": pair.cert_pem, "tls.key": pair.key_pem}
    return secret(name, "kubernetes.io/tls", data, namespace)


def ca_config_map(name: str, ca_pem: str, namespace: str = "default") -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"ca.crt": ca_pem},
    }
