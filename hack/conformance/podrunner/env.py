"""A container's environment as a kubelet builds it: service links, envFrom, env (with
fieldRef/secretKeyRef/configMapKeyRef and `$(VAR)` references), and the expansion of
`$(VAR)` in command and args."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

from podrunner.images import Unsupported

Lookup = Callable[[str, str, str], dict[str, Any] | None]  # (kind, namespace, name) -> body


class NotReady(Exception):
    """A Secret or ConfigMap the Pod needs does not exist yet (a kubelet waits, so do we)."""


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: defined names are replaced, `$$` is a literal `$`,
    anything else stays as written."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            end = text.find(")", i + 2) if nxt == "(" else -1
            if end != -1:
                name = text[i + 2 : end]
                out.append(env.get(name, text[i : end + 1]))
                i = end + 1
                continue
        out.append(text[i])
        i += 1
    return "".join(out)


def data_of(
    lookup: Lookup, kind: str, ns: str, name: str, optional: bool
) -> dict[str, bytes] | None:
    """Secret/ConfigMap data as bytes; None for an optional one that does not exist."""
    body = lookup(kind, ns, name)
    if body is None:
        if optional:
            return None
        raise NotReady(f"{kind} {ns}/{name} not found")
    if kind == "Secret":
        return {k: base64.b64decode(v) for k, v in (body.get("data") or {}).items()}
    data = {k: str(v).encode() for k, v in (body.get("data") or {}).items()}
    data.update({k: base64.b64decode(v) for k, v in (body.get("binaryData") or {}).items()})
    return data


def field_value(pod: dict[str, Any], path: str, pod_ip: str, host_ip: str) -> str:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
        "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if path in simple:
        return str(simple[path] or "")
    for prefix, key in (("metadata.labels", "labels"), ("metadata.annotations", "annotations")):
        values = meta.get(key) or {}
        if path == prefix:  # the downward API's file format
            return "".join(f'{k}="{v}"\n' for k, v in sorted(values.items()))
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str(values.get(path[len(prefix) + 2 : -2], ""))
    raise Unsupported(f"fieldRef {path!r} is not supported by the pod runner")


def service_env(services: list[dict[str, Any]]) -> dict[str, str]:
    """The `<NAME>_SERVICE_HOST`… variables a kubelet sets for these Services."""
    env: dict[str, str] = {}
    for svc in services:
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        ports = spec.get("ports") or []
        if not ip or ip == "None" or not ports:
            continue
        name = str(svc["metadata"]["name"]).upper().replace("-", "_")
        first = ports[0]
        env[f"{name}_SERVICE_HOST"] = ip
        env[f"{name}_SERVICE_PORT"] = str(first["port"])
        env[f"{name}_PORT"] = f"{str(first.get('protocol', 'TCP')).lower()}://{ip}:{first['port']}"
        for port in ports:
            proto = str(port.get("protocol", "TCP"))
            if port.get("name"):
                env[f"{name}_SERVICE_PORT_{str(port['name']).upper().replace('-', '_')}"] = str(
                    port["port"]
                )
            base = f"{name}_PORT_{port['port']}_{proto}"
            env[base] = f"{proto.lower()}://{ip}:{port['port']}"
            env[f"{base}_PROTO"] = proto.lower()
            env[f"{base}_PORT"] = str(port["port"])
            env[f"{base}_ADDR"] = ip
    return env


def container_env(
    container: dict[str, Any],
    pod: dict[str, Any],
    lookup: Lookup,
    *,
    base: Mapping[str, str],
    pod_ip: str,
    host_ip: str,
) -> dict[str, str]:
    """`base` (image env, service links) overlaid with envFrom, then env, in order."""
    ns = str(pod["metadata"]["namespace"])
    env = dict(base)
    for src in container.get("envFrom") or []:
        prefix = str(src.get("prefix", ""))
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key in src:
                ref = src[key]
                data = data_of(lookup, kind, ns, str(ref["name"]), bool(ref.get("optional")))
                env.update({prefix + k: v.decode() for k, v in (data or {}).items()})
    for var in container.get("env") or []:
        name = str(var["name"])
        src = var.get("valueFrom")
        if src is None:
            env[name] = expand(str(var.get("value", "")), env)
        elif "fieldRef" in src:
            env[name] = field_value(pod, str(src["fieldRef"]["fieldPath"]), pod_ip, host_ip)
        elif "secretKeyRef" in src or "configMapKeyRef" in src:
            kind, ref = (
                ("Secret", src["secretKeyRef"])
                if "secretKeyRef" in src
                else (
                    "ConfigMap",
                    src["configMapKeyRef"],
                )
            )
            optional = bool(ref.get("optional"))
            data = data_of(lookup, kind, ns, str(ref["name"]), optional) or {}
            if str(ref["key"]) in data:
                env[name] = data[str(ref["key"])].decode()
            elif not optional:
                raise NotReady(f"key {ref['key']!r} not in {kind} {ns}/{ref['name']}")
        else:
            raise Unsupported(f"env {name}: valueFrom {sorted(src)} is not supported")
    return env
