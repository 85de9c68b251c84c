"""Run `hatchway serve` as a subprocess on ephemeral loopback ports, and talk to it.

Everything is bounded: every HTTP call has a timeout, every wait a deadline.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it; we release it at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http_request(
    port: int,
    path: str = "/",
    *,
    method: str = "GET",
    host: str | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 5.0,
) -> Response:
    """One HTTP/1.1 request on a fresh connection (closed afterwards), bounded by `timeout`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = {"Connection": "close", **(headers or {})}
        if host is not None:
            hdrs["Host"] = host
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def wait_for(check: Callable[[], T | None], timeout: float, what: str, every: float = 0.05) -> T:
    """Poll `check` until it returns a truthy value; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (OSError, http.client.HTTPException, ValueError) as exc:
            last = exc
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last})")


class Hatchway:
    """`hatchway serve -f <dir>` in a subprocess, with its admin API on an ephemeral port."""

    def __init__(
        self,
        config_dir: Path,
        log_path: Path,
        extra_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        stdout_path: Path | None = None,
    ) -> None:
        self.config_dir = config_dir
        self.log_path = log_path
        # serve's stdout (the access log) apart from its log, when given.
        self.stdout_path = stdout_path
        self.extra_args = tuple(extra_args)  # more `hatchway serve` flags
        self.extra_env = dict(env or {})
        self.admin_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait_ready: bool = True) -> None:
        cmd = [
            sys.executable,
            "-m",
            "hatchway",
            "serve",
            "-f",
            str(self.config_dir),
            "--admin-address",
            f"127.0.0.1:{self.admin_port}",
            "--bind-address",
            "127.0.0.1",
            "--envoy-concurrency",
            "1",
            "--log-level",
            "debug",
            *self.extra_args,
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **self.extra_env}
        with self.log_path.open("ab") as log:
            out = self.stdout_path.open("ab") if self.stdout_path is not None else log
            with out:
                self.proc = subprocess.Popen(
                    cmd, stdout=out, stderr=log, stdin=subprocess.DEVNULL, env=env
                )
        if wait_ready:
            self.wait_ready()

    def log(self, tail: int = 60) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-tail:])

    def admin(self, path: str, timeout: float = 5.0) -> Response:
        return http_request(self.admin_port, path, timeout=timeout)

    def readyz(self) -> Response:
        return self.admin("/readyz")

    def wait_ready(self, timeout: float = 30.0) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"hatchway exited ({self.proc.returncode}):\n{self.log()}")
            r = self.readyz()
            return r.json() if r.status == 200 else None

        try:
            return wait_for(check, timeout, "/readyz 200")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- log ---\n{self.log()}") from None

    def envoy_pid(self) -> int | None:
        """The live Envoy child of the serve process (from /proc: no extra dependency)."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        for pid in children.split():
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if cmdline and cmdline[0].endswith(b"envoy"):
                return int(pid)
        return None

    def stop(self, timeout: float = 20.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError(f"hatchway ignored SIGTERM for {timeout}s") from None
        return int(self.proc.returncode)


# --- reading status ---------------------------------------------------------------------------


def status_of(resources: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The status block of one object from the admin API's `/status` list."""
    for r in resources:
        if r["kind"] == kind and r["metadata"]["name"] == name:
            return dict(r["status"])
    raise AssertionError(f"no {kind}/{name} in status: {[r['kind'] for r in resources]}")


def conditions(block: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """{type: (status, reason)} of a `conditions` list."""
    return {c["type"]: (c["status"], c["reason"]) for c in block.get("conditions", [])}


def write_yaml(path: Path, docs: Iterable[dict[str, Any]]) -> None:
    """Write atomically (temp file + rename), as editors do, so a reload never sees half a file."""
    text = "\n---\n".join(json.dumps(d, indent=1) for d in docs)  # JSON is YAML
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.rename(path)
