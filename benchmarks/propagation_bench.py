"""Propagation: a saved file -> the first correct answer from the gateway.

1. New route: with N routes live, write a new file holding route N+k, then poll (keep-alive,
   ~1 ms apart) until it answers 200; every answer other than 404 (not there yet) and 200
   is counted (target: zero 503s). Median and p99 per N.
2. Live edit under load: wrk drives an existing route while its response header is edited 20
   times; each edit waits for the new header. Zero failed or non-2xx requests is the target.
3. Endpoint-only change: the Service's EndpointSlice moves to a second backend; time until
   traffic carries that backend's header, with the answers seen on the way.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.baselines import start_backend
from benchmarks.gateway import Hatchway
from benchmarks.load import parse_wrk, tool_path
from benchmarks.probe import Probe
from benchmarks.scenarios import (
    PROXY_HOST,
    endpoint_slice,
    gateway,
    proxy_prefix,
    proxy_route,
    service,
    write_yaml,
)


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def _bad(seen: Counter[int]) -> dict[int, int]:
    return {code: k for code, k in seen.items() if code not in (200, 404)}


# `hatchway serve`'s publish log line: the control plane's own time for one reload, by stage.
_PUBLISHED = re.compile(r"published generation \d+ \(.*?\) in ([0-9.]+) ms \((.*)\)")


def _control_plane_ms(log_text: str) -> tuple[float, dict[str, float]] | None:
    """The publish lines in `log_text`: their total ms and ms per stage (summed), or None."""
    total, stages = 0.0, {}
    found = False
    for m in _PUBLISHED.finditer(log_text):
        found = True
        total += float(m.group(1))
        for part in m.group(2).split(", "):
            name, _, value = part.partition(" ")
            if name != "cpu" and value:
                stages[name] = stages.get(name, 0.0) + float(value)
    return (total, stages) if found else None


def _setup(root: Path, n: int, backend_port: int) -> Hatchway:
    # Info: the publish log line says how long the control plane itself took.
    hw = Hatchway(root / "hatchway", log_level="info")
    write_yaml(hw.inputs / "gateway.yaml", gateway(hw.gateway_port))
    write_yaml(hw.inputs / "backend.yaml", service("backend", backend_port))
    write_yaml(hw.inputs / "r0000.yaml", [proxy_route(0)])  # the route `live_edits` edits
    write_yaml(hw.inputs / "routes.yaml", [proxy_route(i) for i in range(1, n)])
    hw.start()
    hw.wait_ready(timeout=120)
    # `/readyz` can turn 200 before the file watcher is armed (a change saved in that
    # window is never applied; reported to the runtime). Steady state is measured here.
    time.sleep(1.0)
    return hw


def new_routes(
    hw: Hatchway, n: int, samples: int, log: Callable[[str], None], budget_s: float = 150.0
) -> dict[str, Any]:
    probe = Probe(hw.gateway_port, PROXY_HOST)
    log_path = hw.workdir / "serve.log"
    times: list[float] = []
    own: list[float] = []  # the control plane's own ms, same samples
    shares: list[float] = []  # own / change->traffic, per sample
    bad: Counter[int] = Counter()
    timeouts = 0
    t_begin = time.perf_counter()
    for k in range(samples):
        if k >= 5 and time.perf_counter() - t_begin > budget_s:
            break  # slow propagation: keep the whole run bounded; `samples` says how many
        i = n + k
        path = f"{proxy_prefix(i)}x"
        probe.get(path)  # keep-alive connection open before the clock starts
        offset = log_path.stat().st_size
        t0 = time.perf_counter()
        write_yaml(hw.inputs / f"new-{i}.yaml", [proxy_route(i)])
        elapsed, seen = probe.until(path, timeout=30, since=t0)
        bad.update(_bad(seen))
        if elapsed is None:
            timeouts += 1
        else:
            times.append(elapsed * 1000)
        time.sleep(0.05)  # let the reload settle: one change per measurement
        with log_path.open("rb") as f:
            f.seek(offset)
            cp = _control_plane_ms(f.read().decode(errors="replace"))
        if cp is not None and elapsed is not None:
            own.append(cp[0])
            shares.append(cp[0] / (elapsed * 1000))
    probe.close()
    row = {
        "routes": n,
        "samples": len(times) + timeouts,
        "p50_ms": round(statistics.median(times), 1) if times else None,
        "p99_ms": round(_pct(times, 0.99), 1) if times else None,
        "max_ms": round(max(times), 1) if times else None,
        "non_200_404": dict(bad),
        "count_503": bad.get(503, 0),
        "timeouts": timeouts,
        # The control plane's own time (the publish log's stages, load -> status) for the same
        # changes, and its share of change->traffic (the rest: the file watch, Envoy).
        "control_plane_p50_ms": round(statistics.median(own), 1) if own else None,
        "control_plane_share_p50": round(statistics.median(shares), 3) if shares else None,
    }
    log(
        f"  new route @ {n} routes: p50 {row['p50_ms']} ms  p99 {row['p99_ms']} ms  "
        f"bad {row['non_200_404']}  timeouts {timeouts}  control plane p50 "
        f"{row['control_plane_p50_ms']} ms (share p50 {row['control_plane_share_p50']})"
    )
    return row


def live_edits(hw: Hatchway, edits: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Edit route 0 `edits` times while wrk (16 connections) drives it."""
    path = f"{proxy_prefix(0)}x"
    probe = Probe(hw.gateway_port, PROXY_HOST)
    duration = 60.0  # upper bound; wrk is stopped once the edits are done
    wrk = subprocess.Popen(
        [
            tool_path("wrk"),
            "-t1",
            "-c16",
            f"-d{duration:g}s",
            "--latency",
            "-H",
            f"Host: {PROXY_HOST}",
            f"http://127.0.0.1:{hw.gateway_port}{path}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    times: list[float] = []
    t_start = time.perf_counter()
    try:
        time.sleep(1.0)
        for k in range(edits):
            marker = f"v{k}"
            t0 = time.perf_counter()
            write_yaml(hw.inputs / "r0000.yaml", [proxy_route(0, marker=marker)])
            elapsed, _ = probe.until(path, ok=("x-bench-version", marker), timeout=30, since=t0)
            times.append(elapsed * 1000 if elapsed is not None else float("inf"))
            time.sleep(0.1)
    finally:
        wall = time.perf_counter() - t_start
        wrk.send_signal(2)  # SIGINT: wrk prints its summary and exits
        out, _ = wrk.communicate(timeout=30)
    probe.close()
    res = parse_wrk(out, 16, wall)
    row = {
        "edits": edits,
        "edit_p50_ms": round(statistics.median(times), 1),
        "edit_max_ms": round(max(times), 1),
        "requests": res.requests,
        "non_2xx": res.non_2xx,
        "socket_errors": res.socket_errors,
        "errors": res.non_2xx + res.socket_errors,
    }
    log(f"  live edits: {edits} edits, {res.requests} requests, errors {row['errors']}")
    return row


def endpoint_change(
    hw: Hatchway, root: Path, backend_port: int, log: Callable[[str], None]
) -> dict[str, Any]:
    other, other_port = start_backend(root / "backend-b", header=("x-backend", "b"))
    try:
        probe = Probe(hw.gateway_port, PROXY_HOST)
        path = f"{proxy_prefix(0)}x"
        probe.get(path)
        t0 = time.perf_counter()
        write_yaml(
            hw.inputs / "backend.yaml",
            [service("backend", backend_port)[0], endpoint_slice("backend", other_port)],
        )
        elapsed, seen = probe.until(path, ok=("x-backend", "b"), timeout=30, since=t0)
        probe.close()
        row = {
            "ms": round(elapsed * 1000, 1) if elapsed is not None else None,
            "non_200_404": _bad(seen),
            "answers_before": sum(seen.values()),
        }
        log(f"  endpoint change: {row['ms']} ms, bad {row['non_200_404']}")
        return row
    finally:
        other.stop()


def run(
    sizes: tuple[int, ...] = (100, 3000),
    samples: int = 20,
    edits: int = 20,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "new_route": [],
        "method": "file saved (atomic rename) -> first 200, keep-alive poll every ~1 ms",
    }
    with tempfile.TemporaryDirectory(prefix="hw-bench-prop-") as tmp:
        root = Path(tmp)
        backend, backend_port = start_backend(root / "backend")
        try:
            for n in sizes:
                hw = _setup(root / f"n{n}", n, backend_port)
                try:
                    out["new_route"].append(new_routes(hw, n, samples, log))
                    if n == sizes[0]:
                        out["live_edits"] = live_edits(hw, edits, log)
                        out["endpoint_change"] = endpoint_change(hw, root, backend_port, log)
                finally:
                    hw.stop()
        finally:
            backend.stop()
    return out
