"""What the numbers were measured on: machine, versions, date."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.baselines import envoy_binary
from benchmarks.load import TOOLS, tool_version

ROOT = Path(__file__).resolve().parent.parent


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _mem_gib() -> float:
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return round(kb / 2**20, 1)


def _run(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=10, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (out.stdout or out.stderr).strip()


def describe() -> dict[str, Any]:
    envoy = _run([envoy_binary(), "--version"]).split("version:")[-1].strip()
    try:
        load = os.getloadavg()
    except OSError:
        load = (0.0, 0.0, 0.0)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _mem_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "envoy": [*envoy.split()[0].split("/"), "?", "?"][1] if envoy else "?",
        "hatchway_commit": _run(["git", "rev-parse", "--short", "HEAD"]),
        "worktree_dirty": bool(_run(["git", "status", "--porcelain", "--", "src"])),
        "tools": {tool: tool_version(tool) for tool in TOOLS},
        "loadavg_at_start": [round(x, 2) for x in load],
    }
