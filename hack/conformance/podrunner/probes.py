"""Probes and lifecycle handlers, run from the node as a kubelet runs them.

httpGet and tcpSocket go from the host to the Pod's IP (through the node network, as a
kubelet's do); exec runs the command inside the container (its namespaces, root and user).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from podrunner.images import Unsupported

Exec = Callable[[list[str], float], int]  # (argv, timeout) -> exit code inside the container


@dataclass(frozen=True)
class Action:
    """What a probe or a handler does: httpGet, tcpSocket, exec or sleep."""

    kind: str
    port: int = 0
    path: str = "/"
    scheme: str = "HTTP"
    host: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    command: tuple[str, ...] = ()
    seconds: float = 0.0


@dataclass(frozen=True)
class Probe:
    action: Action
    initial_delay: float = 0
    period: float = 10
    timeout: float = 1
    success_threshold: int = 1
    failure_threshold: int = 3


def _port(value: Any, ports: dict[str, int], where: str) -> int:
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    if str(value) in ports:
        return ports[str(value)]
    raise Unsupported(f"{where}: port {value!r} names no container port")


def action_of(spec: dict[str, Any], ports: dict[str, int], where: str) -> Action:
    if "httpGet" in spec:
        h = spec["httpGet"]
        headers = tuple((str(x["name"]), str(x["value"])) for x in h.get("httpHeaders") or [])
        return Action(
            "http",
            port=_port(h["port"], ports, where),
            path=str(h.get("path") or "/"),
            scheme=str(h.get("scheme") or "HTTP").upper(),
            host=h.get("host"),
            headers=headers,
        )
    if "tcpSocket" in spec:
        t = spec["tcpSocket"]
        return Action("tcp", port=_port(t["port"], ports, where), host=t.get("host"))
    if "exec" in spec:
        return Action("exec", command=tuple(str(c) for c in spec["exec"].get("command") or []))
    if "sleep" in spec:
        return Action("sleep", seconds=float(spec["sleep"]["seconds"]))
    raise Unsupported(f"{where}: {sorted(spec)} is not supported by the pod runner")


def probe_of(spec: dict[str, Any] | None, ports: dict[str, int], where: str) -> Probe | None:
    if not spec:
        return None
    return Probe(
        action_of(spec, ports, where),
        initial_delay=float(spec.get("initialDelaySeconds", 0)),
        period=float(spec.get("periodSeconds", 10)),
        timeout=float(spec.get("timeoutSeconds", 1)),
        success_threshold=int(spec.get("successThreshold", 1)),
        failure_threshold=int(spec.get("failureThreshold", 3)),
    )


def run_action(action: Action, pod_ip: str, timeout: float, exec_: Exec) -> bool:
    """One try: True on success (HTTP 200-399, a TCP connect, exit code 0, a finished sleep)."""
    host = action.host or pod_ip
    try:
        if action.kind == "http":
            conn: http.client.HTTPConnection
            if action.scheme == "HTTPS":
                ctx = ssl.create_default_context()
                ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # as a kubelet
                conn = http.client.HTTPSConnection(host, action.port, timeout=timeout, context=ctx)
            else:
                conn = http.client.HTTPConnection(host, action.port, timeout=timeout)
            try:
                conn.request(
                    "GET",
                    action.path,
                    headers={"User-Agent": "kube-probe/1.37", **dict(action.headers)},
                )
                return 200 <= conn.getresponse().status < 400
            finally:
                conn.close()
        if action.kind == "tcp":
            with socket.create_connection((host, action.port), timeout=timeout):
                return True
        if action.kind == "exec":
            return exec_(list(action.command), timeout) == 0
        if action.kind == "sleep":
            time.sleep(min(action.seconds, timeout))
            return True
    except (OSError, http.client.HTTPException, subprocess.TimeoutExpired):
        return False
    return False


@dataclass
class ProbeWorker:
    """Runs one probe periodically; `ok` follows the success/failure thresholds."""

    probe: Probe
    pod_ip: str
    exec_: Exec
    ok: bool
    results: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        if self._stop.wait(self.probe.initial_delay):
            return
        streak_ok = streak_fail = 0
        while not self._stop.is_set():
            passed = run_action(self.probe.action, self.pod_ip, self.probe.timeout, self.exec_)
            if self._stop.is_set():
                return
            streak_ok, streak_fail = (streak_ok + 1, 0) if passed else (0, streak_fail + 1)
            if streak_ok >= self.probe.success_threshold:
                self.ok = True
            elif streak_fail >= self.probe.failure_threshold:
                self.ok = False
            self.results += 1
            self._stop.wait(self.probe.period)

    def stop(self) -> None:
        self._stop.set()
