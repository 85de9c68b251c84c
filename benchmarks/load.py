"""The load generator: `wrk` from Debian (C, event loop), run for a bounded time and parsed."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from typing import Any

TOOLS = {"wrk": "wrk", "nginx": "nginx-light", "h2load": "nghttp2-client"}
INSTALL_HINT = "apt-get update && apt-get install -y wrk nginx-light nghttp2-client"


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None and not _sbin(tool)]


def _sbin(tool: str) -> str | None:
    # nginx lives in /usr/sbin, which is not on every user's PATH.
    for d in ("/usr/sbin", "/usr/local/sbin"):
        if shutil.which(tool, path=d):
            return f"{d}/{tool}"
    return None


def tool_path(tool: str) -> str:
    found = shutil.which(tool) or _sbin(tool)
    if found is None:
        raise FileNotFoundError(f"{tool} not found; install with: {INSTALL_HINT}")
    return found


def tool_version(tool: str) -> str:
    flag = {"wrk": "-v", "nginx": "-v", "h2load": "--version"}[tool]
    try:
        out = subprocess.run(
            [tool_path(tool), flag], check=False, capture_output=True, text=True, timeout=5
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return "missing"
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0] if text else "?"


@dataclass(frozen=True)
class LoadResult:
    connections: int
    duration_s: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", value)
    if m is None:
        raise ValueError(f"unexpected wrk latency {value!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(text: str, connections: int, duration_s: float) -> LoadResult:
    pct = {m.group(1): _ms(m.group(2)) for m in re.finditer(r"^\s+(\d+)%\s+(\S+)", text, re.M)}
    req = re.search(r"(\d+) requests in", text)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if req is None or rps is None or "50" not in pct:
        raise ValueError(f"cannot parse wrk output:\n{text}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return LoadResult(
        connections=connections,
        duration_s=duration_s,
        requests=int(req.group(1)),
        rps=round(float(rps.group(1)), 1),
        p50_ms=round(pct["50"], 3),
        p90_ms=round(pct["90"], 3),
        p99_ms=round(pct["99"], 3),
        non_2xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=sum(int(g) for g in sock.groups()) if sock else 0,
    )


def wrk(url: str, connections: int, duration_s: float, host: str | None = None) -> LoadResult:
    """One bounded wrk run (one thread: the box has 2 cores, shared with the proxy)."""
    cmd = [tool_path("wrk"), "-t1", f"-c{connections}", f"-d{duration_s:g}s", "--latency"]
    if host:
        cmd += ["-H", f"Host: {host}"]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + 30, check=True)
    return parse_wrk(out.stdout, connections, duration_s)
