"""The directory a running gateway keeps Envoy's bootstrap and sockets in.

Without `--state-dir`, each run makes its own private (0700) temporary directory and removes
it however it stops. A process killed outright (SIGKILL, OOM) cannot clean up, so the
directory names its owner (pid and process start time), and the next run on the machine
removes the directories of owners that are gone.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger("hatchway.state")

PREFIX = "hatchway-"
OWNER_FILE = "owner"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (None: no such process); with the
    pid it names a process uniquely, even after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (comm) may hold spaces and parentheses: count fields after its last ')'.
    return stat.rpartition(")")[2].split()[19]


def _owner_alive(directory: Path) -> bool:
    try:
        pid_text, _, started = (directory / OWNER_FILE).read_text().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return True  # not one of ours, or still being set up: leave it
    return _start_time(pid) == started.strip()


def reap_stale(root: Path | None = None) -> int:
    """Remove the state directories whose owner process is gone; returns how many."""
    root = root or Path(tempfile.gettempdir())
    removed = 0
    for directory in root.glob(f"{PREFIX}*"):
        try:
            ours = directory.is_dir() and directory.stat().st_uid == os.getuid()
        except OSError:
            continue
        if ours and (directory / OWNER_FILE).exists() and not _owner_alive(directory):
            shutil.rmtree(directory, ignore_errors=True)
            removed += 1
    if removed:
        log.info("removed %d state directories of earlier runs that were killed", removed)
    return removed


class StateDir:
    """`given` is the user's `--state-dir` (kept afterwards), None for a temporary one."""

    def __init__(self, given: str | None) -> None:
        self.owned = given is None
        if given is None:
            reap_stale()
            self.path = Path(tempfile.mkdtemp(prefix=PREFIX))  # mode 0700
            pid = os.getpid()
            (self.path / OWNER_FILE).write_text(f"{pid} {_start_time(pid)}")
        else:
            self.path = Path(given)
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)

    def remove(self) -> None:
        if self.owned:
            shutil.rmtree(self.path, ignore_errors=True)
