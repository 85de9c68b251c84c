"""Processes the benchmarks start: spawn, wait for a port, measure CPU and RSS, stop by pid.

Every process is started here in its own session and stopped by its own pid (then its
process group), so a benchmark never touches anything it did not start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def http_status(url: str, timeout: float = 1.0, host: str | None = None) -> int:
    """Status code of a GET (0 when the connection fails)."""
    req = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except (OSError, urllib.error.URLError):
        return 0


def wait_http(url: str, want: int = 200, timeout: float = 30.0) -> float:
    """Seconds until `url` answers `want`."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if http_status(url) == want:
            return time.monotonic() - t0
        time.sleep(0.01)
    raise TimeoutError(f"{url} did not answer {want} within {timeout}s")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int) -> float:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except OSError:
        return 0.0
    return pages * PAGE / 2**20


def children(pid: int) -> list[int]:
    """Direct children of `pid` (from /proc, no psutil)."""
    out: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append(int(entry.name))
    return out


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    out = [pid]
    for child in children(pid):
        out.extend(tree(child))
    return out


def pin(pids: Sequence[int], cpus: set[int]) -> None:
    """Bind every thread of `pids` to `cpus` (threads they start later inherit it)."""
    for pid in pids:
        try:
            tids = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
        except OSError:
            continue  # exited
        for tid in tids:
            with contextlib.suppress(OSError):  # the thread exited meanwhile
                os.sched_setaffinity(tid, cpus)


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class Proc:
    """A started process; `stop()` sends SIGTERM to it and its group, then SIGKILL if needed."""

    def __init__(self, argv: Sequence[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.log = log
        self._fh = log.open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        # Descendants that moved to their own group (Envoy does) are collected first.
        family = tree(self.pid) if self.alive() else []
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        for pid in family[1:]:
            if Path(f"/proc/{pid}").exists():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self._fh.close()

    def tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


@contextlib.contextmanager
def running(argv: Sequence[str], log: Path, env: dict[str, str] | None = None) -> Iterator[Proc]:
    proc = Proc(argv, log, env)
    try:
        yield proc
    finally:
        proc.stop()
