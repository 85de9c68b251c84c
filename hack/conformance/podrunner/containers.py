"""What a Pod's containers become: argv, environment and files for a local process.

Images are emulated, not pulled: every `gateway-api/echo-basic` tag runs the echo server built
from the pinned gateway-api module (one build serves the v1.5.1 and v1.6.0-dev tags the
manifests name: it has all their modes), and coredns runs the DNS responder of `dns.py`.
Volumes are materialised as files under the Pod's directory and every environment value or
argument that points into a mount path is rewritten to point there: processes share the host
filesystem, so `/etc/secret-volume` cannot be per-Pod.
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Lookup = Callable[[str, str, str], dict[str, Any] | None]  # (kind, namespace, name) -> body


class NotReady(Exception):
    """A Secret or ConfigMap the Pod needs does not exist yet (a kubelet waits, so do we)."""


class Unsupported(Exception):
    """An image the runner has no local stand-in for."""


@dataclass
class ContainerPlan:
    name: str
    argv: list[str]
    env: dict[str, str]
    tcp_ports: list[int] = field(default_factory=list)  # readiness: all must accept


def _field(pod: dict[str, Any], path: str, pod_ip: str, host_ip: str) -> str:
    meta = pod.get("metadata") or {}
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": (pod.get("spec") or {}).get("nodeName"),
        "spec.serviceAccountName": (pod.get("spec") or {}).get("serviceAccountName"),
        "status.podIP": pod_ip,
        "status.hostIP": host_ip,
    }
    if path in simple:
        return str(simple[path] or "")
    for prefix, key in (("metadata.labels", "labels"), ("metadata.annotations", "annotations")):
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str((meta.get(key) or {}).get(path[len(prefix) + 2 : -2], ""))
    return ""


def _data(lookup: Lookup, kind: str, ns: str, name: str) -> dict[str, str]:
    """Secret/ConfigMap data as text (Secrets decoded)."""
    body = lookup(kind, ns, name)
    if body is None:
        raise NotReady(f"{kind} {ns}/{name} not found")
    if kind == "Secret":
        return {k: base64.b64decode(v).decode() for k, v in (body.get("data") or {}).items()}
    return dict(body.get("data") or {})


def _write_volumes(pod: dict[str, Any], lookup: Lookup, pod_dir: Path) -> dict[str, Path]:
    """Materialise Secret and ConfigMap volumes; volume name -> directory."""
    ns = str(pod["metadata"]["namespace"])
    dirs: dict[str, Path] = {}
    for vol in (pod.get("spec") or {}).get("volumes") or []:
        if "secret" in vol:
            src = vol["secret"]
            data = _data(lookup, "Secret", ns, str(src.get("secretName")))
        elif "configMap" in vol:
            src = vol["configMap"]
            data = _data(lookup, "ConfigMap", ns, str(src.get("name")))
        else:
            continue  # service-account tokens and the like: nothing here reads them
        items = src.get("items") or [{"key": k, "path": k} for k in data]
        target = pod_dir / "volumes" / str(vol["name"])
        target.mkdir(parents=True, exist_ok=True)
        for item in items:
            if item["key"] not in data:
                raise NotReady(f"key {item['key']!r} missing in volume {vol['name']}")
            out = target / str(item["path"])
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(data[item["key"]], encoding="utf-8")
        dirs[str(vol["name"])] = target
    return dirs


def _rewriter(container: dict[str, Any], volumes: dict[str, Path]) -> Callable[[str], str]:
    mounts = sorted(
        (
            (str(m["mountPath"]).rstrip("/"), volumes[str(m["name"])])
            for m in container.get("volumeMounts") or []
            if str(m["name"]) in volumes
        ),
        key=lambda m: -len(m[0]),
    )

    def rewrite(value: str) -> str:
        for mount, local in mounts:
            if value == mount or value.startswith(mount + "/"):
                return str(local) + value[len(mount) :]
        return value

    return rewrite


def _env(
    container: dict[str, Any], pod: dict[str, Any], lookup: Lookup, pod_ip: str, host_ip: str
) -> dict[str, str]:
    ns = str(pod["metadata"]["namespace"])
    env: dict[str, str] = {}
    for var in container.get("env") or []:
        name = str(var["name"])
        src = var.get("valueFrom")
        if src is None:
            env[name] = str(var.get("value", ""))
        elif "fieldRef" in src:
            env[name] = _field(pod, str(src["fieldRef"]["fieldPath"]), pod_ip, host_ip)
        elif "secretKeyRef" in src:
            ref = src["secretKeyRef"]
            env[name] = _data(lookup, "Secret", ns, str(ref["name"])).get(str(ref["key"]), "")
        elif "configMapKeyRef" in src:
            ref = src["configMapKeyRef"]
            env[name] = _data(lookup, "ConfigMap", ns, str(ref["name"])).get(str(ref["key"]), "")
    return env


def _echo_ports(env: dict[str, str]) -> list[int]:
    """The TCP ports an echo server listens on in its mode (UDP mode: none to probe)."""
    if env.get("UDP_ECHO_SERVER"):
        return []
    if env.get("TCP_ECHO_SERVER"):
        return [int(env.get("TCP_PORT") or 3000)]
    return [int(env.get("HTTP_PORT") or 3000)]


def plan_pod(
    pod: dict[str, Any],
    *,
    lookup: Lookup,
    pod_dir: Path,
    pod_ip: str,
    host_ip: str,
    echo_binary: str,
) -> list[ContainerPlan]:
    volumes = _write_volumes(pod, lookup, pod_dir)
    plans: list[ContainerPlan] = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        image = str(container.get("image", ""))
        rewrite = _rewriter(container, volumes)
        env = {k: rewrite(v) for k, v in _env(container, pod, lookup, pod_ip, host_ip).items()}
        args = [rewrite(str(a)) for a in container.get("args") or []]
        declared = [
            int(p["containerPort"])
            for p in container.get("ports") or []
            if p.get("protocol", "TCP") == "TCP"
        ]
        if "/gateway-api/echo-basic" in image:
            argv = [echo_binary, *args]
            ports = declared or _echo_ports(env)
        elif "/coredns/coredns" in image:
            argv = [sys.executable, "-m", "podrunner.dns", *args]
            ports = declared if declared != [53] else []
            here = str(Path(__file__).resolve().parent.parent)
            env["PYTHONPATH"] = here
        else:
            raise Unsupported(f"no local stand-in for image {image!r}")
        base = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOSTNAME": str(pod["metadata"]["name"]),
        }
        plans.append(ContainerPlan(str(container["name"]), argv, {**base, **env}, ports))
    return plans
