"""Objects the rig tests create (plain dicts, applied with lightkube's codecs)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from lightkube import Client, codecs
from lightkube.resources.core_v1 import Namespace

ECHO_IMAGE = "registry.k8s.io/gateway-api/echo-basic:v1.5.1"


def namespace(client: Client, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    client.create(
        codecs.from_dict({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    )
    return name


def delete_namespace(client: Client, name: str) -> None:
    client.delete(Namespace, name)


def apply(client: Client, *objs: dict[str, Any]) -> None:
    for obj in objs:
        client.apply(codecs.from_dict(obj), force=True)


def echo_container(**extra: Any) -> dict[str, Any]:
    return {
        "name": "echo",
        "image": ECHO_IMAGE,
        "env": [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        ],
        **extra,
    }


def deployment(
    ns: str, name: str, replicas: int, container: dict[str, Any], **pod: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container], **pod},
            },
        },
    }


def service(ns: str, name: str, kind: str = "ClusterIP", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "type": kind,
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 80, "targetPort": 3000}],
            **spec,
        },
    }


def echoed_pod(body: bytes) -> str:
    """The Pod name an echo-basic answer reports."""
    return str(json.loads(body)["pod"])
