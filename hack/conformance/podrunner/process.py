"""A container as a supervised process: started through `launch.py`, restarted per the Pod's
restartPolicy with a kubelet's back-off, probed, stopped with preStop, SIGTERM and SIGKILL.

Each container has one supervising thread; the runner only reads `status()` snapshots.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from podrunner.containers import ContainerPlan
from podrunner.probes import ProbeWorker, run_action

log = logging.getLogger("podrunner")
LAUNCH = str(Path(__file__).resolve().parent / "launch.py")


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode  # killed by signal N: 128+N


class Container:
    def __init__(
        self,
        plan: ContainerPlan,
        *,
        netns: str,
        directory: Path,
        log_path: Path,
        pod_ip: str,
        hosts: str,
        hostname: str,
        resolv: str | None = None,
        restart_policy: str = "Always",
        grace: float = 30,
        backoff: tuple[float, float] = (1.0, 60.0),
    ) -> None:
        self.plan = plan
        self.netns = netns
        self.directory = directory
        self.log_path = log_path
        self.pod_ip = pod_ip
        self.hosts = hosts
        self.hostname = hostname
        self.resolv = resolv
        self.restart_policy = restart_policy
        self.grace = grace
        self.backoff = backoff
        self.restarts = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = ""
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"waiting": {"reason": "ContainerCreating"}}
        self._last: dict[str, Any] = {}
        self._stopping = threading.Event()
        self._probes: dict[str, ProbeWorker] = {}
        self._thread = threading.Thread(
            target=self._run, daemon=True, name=f"container-{plan.name}"
        )

    # --- the supervising thread -------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def _spec(self) -> dict[str, Any]:
        p = self.plan
        root = self.directory / p.name
        for d in ("rootfs", "layer"):
            (root / d).mkdir(parents=True, exist_ok=True)
        return {
            "netns": f"/run/netns/{self.netns}",
            "rootfs": str(root / "rootfs"),
            "layer": str(root / "layer"),
            "mounts": p.mounts,
            "read_only_root": p.read_only_root,
            "hostname": self.hostname,
            "hosts": self.hosts,
            "resolv": self.resolv,
            "traverse": p.traverse,
            "uid": p.uid,
            "gid": p.gid,
            "groups": p.groups,
            "no_new_privs": p.no_new_privs,
            "workdir": p.workdir,
            "argv": p.argv,
            "env": p.env,
        }

    def _launch(self, spec: dict[str, Any], name: str, **kw: Any) -> subprocess.Popen[bytes]:
        path = self.directory / self.plan.name / name
        path.write_text(json.dumps(spec), encoding="utf-8")
        os.chmod(path, 0o600)  # it holds the environment (Secret values)
        return subprocess.Popen(
            [sys.executable, LAUNCH, str(path)], env={}, stdin=subprocess.DEVNULL, **kw
        )

    def _spawn(self) -> None:
        self.started_at = now_rfc3339()
        self.proc = self._launch(
            self._spec(),
            "spec.json",
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a stop ends it and its children
        )
        threading.Thread(target=self._copy_output, args=(self.proc,), daemon=True).start()
        with self._lock:
            self._state = {"running": {"startedAt": self.started_at}}
        self._probes = {}
        first = "startup" if self.plan.startup else None
        self._start_probe(first or "readiness")
        if not first:
            self._start_probe("liveness")

    def _start_probe(self, kind: str) -> None:
        probe = getattr(self.plan, kind)
        if probe is not None and kind not in self._probes:
            worker = ProbeWorker(probe, self.pod_ip, self.exec_in, ok=kind == "liveness")
            self._probes[kind] = worker
            worker.start()

    def _copy_output(self, proc: subprocess.Popen[bytes]) -> None:
        # CRI log format, one line per output line: "<RFC3339Nano> stdout F <text>".
        assert proc.stdout is not None
        with self.log_path.open("ab") as out:
            for line in proc.stdout:
                out.write(f"{now_rfc3339()} stdout F ".encode() + line)
                out.flush()

    def _wait(self) -> int:
        assert self.proc is not None
        while True:
            code = self.proc.poll()
            if code is not None:
                return _exit_code(code)
            startup = self._probes.get("startup")
            if startup is not None and startup.ok and "readiness" not in self._probes:
                self._start_probe("readiness")
                self._start_probe("liveness")
            live = self._probes.get("liveness")
            if live is not None and not live.ok and not self._stopping.is_set():
                log.warning("container %s: liveness probe failed; restarting", self.plan.name)
                live.stop()
                self._probes.pop("liveness")
                self._kill(time.monotonic() + self.grace)
            time.sleep(0.1)

    def _run(self) -> None:
        delay = self.backoff[0]
        while True:
            began = time.monotonic()
            try:
                self._spawn()
                code = self._wait()
            finally:
                for worker in self._probes.values():
                    worker.stop()
            finished = {
                "exitCode": code,
                "reason": "Completed" if code == 0 else "Error",
                "startedAt": self.started_at,
                "finishedAt": now_rfc3339(),
            }
            with self._lock:
                self._state = {"terminated": finished}
            if self._stopping.is_set():
                return
            if self.restart_policy == "Never" or (self.restart_policy == "OnFailure" and code == 0):
                return
            if time.monotonic() - began > 600:
                delay = self.backoff[0]  # ran long enough: the back-off starts over
            log.warning(
                "container %s exited (%d); restarting in %.0f s", self.plan.name, code, delay
            )
            with self._lock:
                self._last = {"terminated": finished}
                self._state = {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off {delay:.0f}s restarting failed container "
                        f"{self.plan.name}",
                    }
                }
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, self.backoff[1])
            self.restarts += 1

    # --- stopping ------------------------------------------------------------------------

    def _signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def _kill(self, deadline: float) -> None:
        """preStop (bounded by the deadline), SIGTERM, SIGKILL at the deadline."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        if self.plan.pre_stop is not None:
            left = max(deadline - time.monotonic(), 0)
            if not run_action(self.plan.pre_stop, self.pod_ip, left, self.exec_in):
                log.warning("container %s: preStop hook failed", self.plan.name)
            # A kubelet grants 2 s more after a hook that used up the grace period.
            deadline = max(deadline, time.monotonic() + 2) if left else deadline
        self._signal(signal.SIGTERM)
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            proc.wait()

    def terminate(self, deadline: float) -> None:
        """Stop for good (Pod deletion): no restart after this."""
        self._stopping.set()
        self._kill(deadline)
        self._thread.join(timeout=max(deadline - time.monotonic(), 0) + 5)

    def exec_in(self, argv: list[str], timeout: float) -> int:
        """Run argv inside the running container, as its user (exec hooks and probes)."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return 1
        p = self.plan
        spec = {
            "join": proc.pid,
            "argv": argv,
            "env": p.env,
            "uid": p.uid,
            "gid": p.gid,
            "groups": p.groups,
            "workdir": p.workdir,
            "no_new_privs": p.no_new_privs,
        }
        name = f"exec-{threading.get_ident()}-{time.monotonic_ns()}.json"
        run = self._launch(spec, name, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            return run.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            run.kill()
            run.wait()
            return 1
        finally:
            (self.directory / self.plan.name / name).unlink(missing_ok=True)

    # --- what the runner reports --------------------------------------------------------

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def probe_ok(self, kind: str) -> bool | None:
        worker = self._probes.get(kind)
        return None if worker is None else worker.ok

    def status(self, ready: bool, pod_uid: str) -> dict[str, Any]:
        with self._lock:
            state, last = dict(self._state), dict(self._last)
        running = "running" in state
        startup = self.probe_ok("startup")
        return {
            "name": self.plan.name,
            "image": self.plan.image,
            "imageID": "",
            "containerID": f"hatchway://{pod_uid}-{self.plan.name}-{self.restarts}",
            "ready": ready and running,
            "started": running and startup is not False,
            "restartCount": self.restarts,
            "state": state,
            "lastState": last,
        }

    def terminated(self) -> dict[str, Any] | None:
        with self._lock:
            return self._state.get("terminated")
