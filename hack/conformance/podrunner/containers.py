"""What a Pod's containers become: a launch plan per container (argv, environment, mounts,
user, probes, preStop handler), from the Pod spec, the emulated image and the Pod's volumes.

Kubernetes' rules: `command` replaces the image's ENTRYPOINT (and drops its CMD), `args`
replaces CMD; `$(VAR)` in command, args and env values expands from the container's
environment; the container-level securityContext wins over the Pod-level one, which wins over
the image's USER; Secret, ConfigMap, downwardAPI and projected volumes are mounted read-only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podrunner.env import Lookup, container_env, expand
from podrunner.images import Catalog, Image, Unsupported
from podrunner.probes import Action, Probe, action_of, probe_of

READ_ONLY_KINDS = ("secret", "configMap", "downwardAPI", "projected")


@dataclass
class ContainerPlan:
    name: str
    image: str
    argv: list[str]
    env: dict[str, str]
    mounts: list[tuple[str, str, bool]] = field(default_factory=list)  # source, path, read-only
    uid: int = 0
    gid: int = 0
    groups: list[int] = field(default_factory=list)
    read_only_root: bool = False
    no_new_privs: bool = False
    workdir: str | None = None
    traverse: list[str] = field(default_factory=list)
    tcp_ports: list[int] = field(default_factory=list)  # stand-in images: Ready once these accept
    stand_in: bool = False
    readiness: Probe | None = None
    liveness: Probe | None = None
    startup: Probe | None = None
    pre_stop: Action | None = None


def _argv(container: dict[str, Any], image: Image, env: Mapping[str, str]) -> list[str]:
    command = [expand(str(c), env) for c in container.get("command") or []]
    args = [expand(str(a), env) for a in container.get("args") or []]
    if command:
        argv = command + args
    else:
        argv = list(image.entrypoint) + (args if "args" in container else list(image.cmd))
    if not argv:
        raise Unsupported(
            f"container {container['name']}: no command (image has no ENTRYPOINT/CMD)"
        )
    return argv


def _mounts(
    container: dict[str, Any], pod: dict[str, Any], volumes: dict[str, Path]
) -> list[tuple[str, str, bool]]:
    kinds = {
        str(v["name"]): next((k for k in READ_ONLY_KINDS if k in v), "")
        for v in (pod.get("spec") or {}).get("volumes") or []
    }
    out: list[tuple[str, str, bool]] = []
    for m in container.get("volumeMounts") or []:
        name = str(m["name"])
        if name not in volumes:
            raise Unsupported(
                f"container {container['name']}: volumeMount {name!r} names no volume"
            )
        source = volumes[name]
        if m.get("subPath"):
            source = source / str(m["subPath"])
            if not source.exists():
                source.mkdir(parents=True)  # as a kubelet: a missing subPath becomes a directory
        read_only = bool(m.get("readOnly")) or bool(kinds.get(name))
        out.append((str(source), str(m["mountPath"]), read_only))
    return out


def _host_paths(image: Image) -> list[tuple[str, str, bool]]:
    """The image's own files, bound read-only at their host paths after the volumes: an
    image's /tmp and /run start empty, so a repository or cache there would be hidden."""
    return [(p, p, True) for p in image.host_paths if p.startswith(("/tmp/", "/run/"))]


def _untraversable(paths: list[str]) -> list[str]:
    """Ancestors of `paths` that others may not enter (e.g. a 0700 /root above the venv)."""
    out: list[str] = []
    for p in paths:
        for anc in [*reversed(Path(p).parents), Path(p)]:
            try:
                mode = anc.stat().st_mode
            except OSError:
                continue
            if anc.is_dir() and (mode & 0o011) != 0o011 and str(anc) not in out:
                out.append(str(anc))
    return out


def _identity(
    container: dict[str, Any], pod: dict[str, Any], image: Image
) -> tuple[int, int, list[int], bool]:
    psc = (pod.get("spec") or {}).get("securityContext") or {}
    csc = container.get("securityContext") or {}

    def pick(key: str, default: int | None) -> int | None:
        for sc in (csc, psc):
            if sc.get(key) is not None:
                return int(sc[key])
        return default

    uid = pick("runAsUser", image.user) or 0
    gid = pick("runAsGroup", image.group) or 0
    non_root = csc.get("runAsNonRoot", psc.get("runAsNonRoot"))
    if non_root and uid == 0:
        raise Unsupported(
            f"container {container['name']} has runAsNonRoot and image will run as root"
        )
    groups = [int(g) for g in psc.get("supplementalGroups") or []]
    if psc.get("fsGroup") is not None:
        groups.insert(0, int(psc["fsGroup"]))
    # Privilege escalation is allowed by default; false sets no_new_privs, as runc does.
    no_new_privs = csc.get("allowPrivilegeEscalation") is False
    return uid, gid, list(dict.fromkeys(groups)), no_new_privs


def plan_pod(
    pod: dict[str, Any],
    *,
    lookup: Lookup,
    volumes: dict[str, Path],
    catalog: Catalog,
    pod_ip: str,
    host_ip: str,
    service_env: Mapping[str, str] | None = None,
) -> list[ContainerPlan]:
    spec = pod.get("spec") or {}
    if spec.get("initContainers"):
        raise Unsupported("initContainers are not supported by the pod runner")
    plans: list[ContainerPlan] = []
    for container in spec.get("containers") or []:
        name = str(container["name"])
        image = catalog.lookup(str(container.get("image", "")))
        base = {
            **(service_env or {}),
            "HOSTNAME": str(spec.get("hostname") or pod["metadata"]["name"]),
        }
        base.update(image.env)
        base.setdefault("HOME", "/")
        env = container_env(container, pod, lookup, base=base, pod_ip=pod_ip, host_ip=host_ip)
        ports = {
            str(p["name"]): int(p["containerPort"])
            for p in container.get("ports") or []
            if p.get("name")
        }
        tcp = [
            int(p["containerPort"])
            for p in container.get("ports") or []
            if p.get("protocol", "TCP") == "TCP"
        ]
        uid, gid, groups, no_new_privs = _identity(container, pod, image)
        csc = container.get("securityContext") or {}
        argv = _argv(container, image, env)
        pre_stop = ((container.get("lifecycle") or {}).get("preStop")) or None
        plans.append(
            ContainerPlan(
                name=name,
                image=str(container.get("image", "")),
                argv=argv,
                env=env,
                mounts=_mounts(container, pod, volumes) + _host_paths(image),
                uid=uid,
                gid=gid,
                groups=groups,
                read_only_root=bool(csc.get("readOnlyRootFilesystem")),
                no_new_privs=no_new_privs,
                workdir=container.get("workingDir") or image.workdir,
                traverse=_untraversable(_program_paths(image, argv, env)) if uid else [],
                tcp_ports=_stand_in_ports(tcp, env)
                if image.stand_in and "dns.py" not in " ".join(argv)
                else [],
                stand_in=image.stand_in,
                readiness=probe_of(
                    container.get("readinessProbe"), ports, f"{name} readinessProbe"
                ),
                liveness=probe_of(container.get("livenessProbe"), ports, f"{name} livenessProbe"),
                startup=probe_of(container.get("startupProbe"), ports, f"{name} startupProbe"),
                pre_stop=action_of(pre_stop, ports, f"{name} preStop") if pre_stop else None,
            )
        )
    return plans


def _program_paths(image: Image, argv: list[str], env: Mapping[str, str]) -> list[str]:
    """Where the emulated image's programs live on the host (their directories must be
    reachable for a non-root user in the container)."""
    paths = [p for p in image.entrypoint if p.startswith("/")]
    for d in env.get("PATH", "").split(":"):
        if d.startswith("/") and os.path.isdir(d) and "/.venv/" in d + "/":
            paths.append(d)
            python = Path(d) / "python3"
            if python.exists():
                paths.append(str(python.resolve().parent.parent))  # the interpreter's prefix
    if argv and argv[0].startswith("/"):
        paths.append(argv[0])
    return paths


def _echo_ports(env: Mapping[str, str]) -> list[int]:
    """The TCP ports an echo server listens on in its mode (UDP mode: none to probe)."""
    if env.get("UDP_ECHO_SERVER"):
        return []
    if env.get("TCP_ECHO_SERVER"):
        return [int(env.get("TCP_PORT") or 3000)] + (
            [int(env["TLS_PORT"])] if env.get("TLS_PORT") else []
        )
    listens = [int(env.get("HTTP_PORT") or 3000)]
    if not env.get("GRPC_ECHO_SERVER"):
        listens.append(int(env.get("H2C_PORT") or 3001))
    if env.get("TLS_SERVER_CERT"):
        listens.append(int(env.get("HTTPS_PORT") or 8443))
    return listens


def _stand_in_ports(declared: list[int], env: Mapping[str, str]) -> list[int]:
    """The ports whose accepting makes a stand-in Ready: the declared ones its mode listens on.
    A declared port it never listens on (v1.7's connection-error backend declares 3000 and
    listens on 3333) does not hold it back: without a readiness probe Kubernetes makes a
    running container Ready whatever its ports say."""
    listens = _echo_ports(env)
    return [p for p in declared if p in listens] or listens[:1]
