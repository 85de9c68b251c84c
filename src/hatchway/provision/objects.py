"""The desired ServiceAccount, Deployment, PodDisruptionBudget and Service of one Gateway.

Plain dicts in the Kubernetes API shape, ready for server-side apply. Every object is in the
Gateway's namespace, owned by the Gateway (deleted with it), and carries the Gateway's
`spec.infrastructure` labels and annotations (GatewayInfrastructure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hatchway.model.gateway import Gateway
from hatchway.model.params import GatewayParametersSpec
from hatchway.provision import names
from hatchway.provision.ports import METRICS_PORT, ListenerPort, container_ports

STATE_DIR = "/tmp/hatchway-proxy"  # an emptyDir: the root filesystem is read-only
TOKEN_DIR = "/var/run/secrets/hatchway"
TOKEN_AUDIENCE = "hatchway.dev/xds"  # what the controller's TokenReview asks for
TOKEN_SECONDS = 3600  # the kubelet refreshes it at 80% of this
PROXY_UID = 65532


@dataclass(frozen=True)
class ProvisionSettings:
    image: str  # the Hatchway image; the proxies run its entrypoint `hatchway proxy …`
    xds_address: str  # HOST:PORT of the controller's xDS Service
    # The controller's CA certificate (public): the proxies trust the controller with it.
    xds_ca_pem: str = ""
    image_pull_policy: str | None = None
    replicas: int = 2
    service_type: str = "LoadBalancer"
    drain_seconds: int = 10
    log_level: str = "warning"
    resources: dict[str, dict[str, str]] = field(
        default_factory=lambda: {"requests": {"cpu": "100m", "memory": "128Mi"}}
    )


@dataclass(frozen=True)
class _Gw:
    namespace: str
    name: str
    base: str
    labels: dict[str, str]  # on every object
    annotations: dict[str, str]
    owner: list[dict[str, Any]]


def desired_objects(
    gw: Gateway,
    params: GatewayParametersSpec,
    ports: Sequence[ListenerPort],
    settings: ProvisionSettings,
) -> list[dict[str, Any]]:
    """ServiceAccount, Deployment, PodDisruptionBudget, Service (in that order)."""
    g = _identity(gw)
    mapped = container_ports(ports)
    return [
        _service_account(g),
        _deployment(g, params, mapped, settings),
        _pdb(g),
        _service(g, gw, params, mapped, settings),
    ]


def _identity(gw: Gateway) -> _Gw:
    ns, name = gw.metadata.namespace, gw.metadata.name
    infra = gw.spec.infrastructure
    labels = dict(infra.labels) if infra is not None else {}
    labels.update(names.MANAGED_BY)
    labels[names.GATEWAY_NAME_LABEL] = names.label_value(name)
    labels[names.GATEWAY_CLASS_LABEL] = names.label_value(gw.spec.gateway_class_name)
    labels.update(names.selector(ns, name))
    owner = {
        "apiVersion": gw.api_version,
        "kind": "Gateway",
        "name": name,
        "uid": gw.metadata.uid or "",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    return _Gw(
        namespace=ns,
        name=name,
        base=names.base_name(ns, name),
        labels=labels,
        annotations=dict(infra.annotations) if infra is not None else {},
        owner=[owner],
    )


def _meta(g: _Gw, kind_annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": g.base,
        "namespace": g.namespace,
        "labels": dict(g.labels),
        "annotations": {**g.annotations, **(kind_annotations or {})},
        "ownerReferences": g.owner,
    }


def _service_account(g: _Gw) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(g),
        # The proxies never talk to the API server: no token in their Pods.
        "automountServiceAccountToken": False,
    }


def _port_name(lp: ListenerPort) -> str:
    return f"{lp.protocol.lower()}-{lp.port}"  # IANA_SVC_NAME: at most 15 characters


def _deployment(
    g: _Gw,
    params: GatewayParametersSpec,
    mapped: dict[ListenerPort, int],
    settings: ProvisionSettings,
) -> dict[str, Any]:
    pod = params.pod
    replicas = params.replicas if params.replicas is not None else settings.replicas
    drain = params.envoy.drain_seconds
    drain = settings.drain_seconds if drain is None else drain
    template_meta = {
        "labels": {**pod.labels, **g.labels},
        "annotations": {**g.annotations, **pod.annotations},
    }
    spec: dict[str, Any] = {
        "serviceAccountName": g.base,
        "automountServiceAccountToken": False,
        # The drain (preStop) plus time for Envoy to stop.
        "terminationGracePeriodSeconds": drain + 15,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": PROXY_UID,
            "runAsGroup": PROXY_UID,
            "fsGroup": PROXY_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(g, params, mapped, settings, drain)],
        "volumes": [
            # The proof of identity the proxy sends for its xDS certificate: a short-lived
            # token for the controller only (no API permissions: its ServiceAccount has none).
            {
                "name": "token",
                "projected": {
                    "sources": [
                        {
                            "serviceAccountToken": {
                                "audience": TOKEN_AUDIENCE,
                                "expirationSeconds": TOKEN_SECONDS,
                                "path": "token",
                            }
                        }
                    ]
                },
            },
            {"name": "state", "emptyDir": {}},
        ],
    }
    for key, value in (
        ("nodeSelector", pod.node_selector),
        ("tolerations", list(pod.tolerations)),
        ("affinity", pod.affinity),
        ("topologySpreadConstraints", list(pod.topology_spread_constraints)),
        ("priorityClassName", pod.priority_class_name),
    ):
        if value:
            spec[key] = value
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(g),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": names.selector(g.namespace, g.name)},
            # A new Pod is ready before an old one goes: updates never lower capacity.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {"metadata": template_meta, "spec": spec},
        },
    }


def _container(
    g: _Gw,
    params: GatewayParametersSpec,
    mapped: dict[ListenerPort, int],
    settings: ProvisionSettings,
    drain: int,
) -> dict[str, Any]:
    envoy = params.envoy
    args = [
        "proxy",
        "--gateway",
        f"{g.namespace}/{g.name}",
        "--xds-address",
        settings.xds_address,
        "--token-file",
        f"{TOKEN_DIR}/token",
        "--state-dir",
        STATE_DIR,
        "--metrics-address",
        f"0.0.0.0:{METRICS_PORT}",
        "--drain-seconds",
        str(drain),
        "--envoy-log-level",
        envoy.log_level or settings.log_level,
    ]
    if envoy.concurrency is not None:
        args += ["--envoy-concurrency", str(envoy.concurrency)]
    ports = [
        {"name": _port_name(lp), "containerPort": port, "protocol": lp.protocol}
        for lp, port in sorted(mapped.items())
    ]
    ports.append({"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"})
    resources = params.resources.model_dump(exclude_defaults=True) if params.resources else None
    container: dict[str, Any] = {
        "name": "envoy",
        "image": settings.image,
        "args": args,
        "env": [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {
                "name": "POD_NAMESPACE",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
            },
            {"name": "HATCHWAY_XDS_CA", "value": settings.xds_ca_pem},
        ],
        "ports": ports,
        # Ready once Envoy runs the configuration the controller sent (not merely started).
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": "metrics"},
            "periodSeconds": 2,
            "failureThreshold": 2,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "metrics"},
            "periodSeconds": 10,
            "failureThreshold": 6,
        },
        # Stop taking new connections gracefully before Kubernetes sends SIGTERM: existing
        # ones finish, clients reconnect to the other replicas.
        "lifecycle": {
            "preStop": {
                "exec": {"command": ["hatchway", "proxy", "--drain", "--state-dir", STATE_DIR]}
            }
        },
        "resources": resources if resources is not None else settings.resources,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "token", "mountPath": TOKEN_DIR, "readOnly": True},
            {"name": "state", "mountPath": STATE_DIR},
        ],
    }
    if settings.image_pull_policy:
        container["imagePullPolicy"] = settings.image_pull_policy
    return container


def _pdb(g: _Gw) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(g),
        # One Pod at a time: with 2+ replicas a voluntary disruption never takes all away.
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": names.selector(g.namespace, g.name)},
        },
    }


def _service(
    g: _Gw,
    gw: Gateway,
    params: GatewayParametersSpec,
    mapped: dict[ListenerPort, int],
    settings: ProvisionSettings,
) -> dict[str, Any]:
    kind = params.service.type or settings.service_type
    spec: dict[str, Any] = {
        "type": kind,
        "selector": names.selector(g.namespace, g.name),
        "ports": [
            {"name": _port_name(lp), "port": lp.port, "targetPort": port, "protocol": lp.protocol}
            for lp, port in sorted(mapped.items())
        ],
    }
    if kind != "ClusterIP" and params.service.external_traffic_policy:
        spec["externalTrafficPolicy"] = params.service.external_traffic_policy
    requested = [a.value for a in gw.spec.addresses if a.type == "IPAddress" and a.value]
    if requested and kind == "LoadBalancer":
        # The field every load-balancer implementation still honours for one address.
        spec["loadBalancerIP"] = requested[0]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(g, dict(params.service.annotations)),
        "spec": spec,
    }
