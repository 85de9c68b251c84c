"""`hatchway serve` as the benchmarks run it: files in a temp dir, readiness from `/readyz`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from benchmarks.procs import Proc, comm, free_port, http_status, tree


class Hatchway:
    """A running `hatchway serve -f <dir>`; the gateway listens on `gateway_port`."""

    def __init__(
        self,
        workdir: Path,
        concurrency: int = 1,
        log_level: str = "warning",
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.workdir = workdir
        self.extra_args = extra_args  # more `hatchway serve` flags
        self.inputs = workdir / "inputs"
        self.inputs.mkdir(parents=True, exist_ok=True)
        self.admin_port = free_port()
        self.gateway_port = free_port()
        self.concurrency = concurrency
        self.log_level = log_level
        self.proc: Proc | None = None
        self.started_at = 0.0

    @property
    def admin(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "hatchway",
            "serve",
            "-f",
            str(self.inputs),
            "--admin-address",
            f"127.0.0.1:{self.admin_port}",
            "--bind-address",
            "127.0.0.1",
            "--state-dir",
            str(self.workdir / "state"),
            "--envoy-concurrency",
            str(self.concurrency),
            "--log-level",
            self.log_level,
            *self.extra_args,
        ]
        self.started_at = time.monotonic()
        self.proc = Proc(cmd, self.workdir / "serve.log")

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds from `start()` until `/readyz` answers 200."""
        assert self.proc is not None
        while time.monotonic() - self.started_at < timeout:
            if not self.proc.alive():
                raise RuntimeError(f"hatchway serve exited:\n{self.proc.tail()}")
            if http_status(f"{self.admin}/readyz", timeout=0.5) == 200:
                return time.monotonic() - self.started_at
            time.sleep(0.005)
        raise TimeoutError(f"/readyz not 200 after {timeout}s:\n{self.proc.tail()}")

    def envoy_pid(self) -> int | None:
        assert self.proc is not None
        return next((p for p in tree(self.proc.pid)[1:] if comm(p) == "envoy"), None)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None
