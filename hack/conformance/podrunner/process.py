"""A container as a process in its Pod's namespace, its output kept as a timestamped log."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path

from podrunner.containers import ContainerPlan


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Container:
    def __init__(self, plan: ContainerPlan, netns: str, log_path: Path) -> None:
        self.plan = plan
        self.netns = netns
        self.log_path = log_path
        self.restarts = 0
        self.started_at = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None

    def start(self) -> None:
        self.started_at = now_rfc3339()
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, *self.plan.argv],
            env=self.plan.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends it and its children
        )
        self._pump = threading.Thread(target=self._copy_output, daemon=True)
        self._pump.start()

    def _copy_output(self) -> None:
        # CRI log format, one line per output line: "<RFC3339Nano> stdout F <text>".
        assert self.proc is not None and self.proc.stdout is not None
        with self.log_path.open("ab") as log:
            for line in self.proc.stdout:
                log.write(f"{now_rfc3339()} stdout F ".encode() + line)
                log.flush()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        self.start()

    def signal_stop(self) -> None:
        """SIGTERM without waiting: lets many containers wind down at once."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=3)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._pump is not None:
            self._pump.join(timeout=2)
