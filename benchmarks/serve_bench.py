"""`hatchway serve` as a process: cold start to ready, and RSS steady and under churn.

Input: the realistic ladder scenario at 1,000 HTTPRoutes (5 hostnames, 3 matches each,
1,000 Services with EndpointSlices) pointing at the nginx backend.
Cold start: process start -> `/readyz` 200 -> the last route answers 200 through Envoy.
Churn: for a bounded time, cycle create route / edit route / delete route (one file each),
waiting until traffic shows each change (new path 200, deleted path 404); RSS of the control
plane (Python process only) is sampled every second. "Flat" = the last fifth of the run is
within 10 % (and 15 MiB) of the first fifth after warm-up.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.baselines import start_backend
from benchmarks.gateway import Hatchway
from benchmarks.probe import Probe
from benchmarks.procs import rss_mib
from benchmarks.scenarios import HOSTNAMES, http_route, routes_scenario, write_yaml

N_ROUTES = 1000


def _last_app0_route(n: int) -> int:
    return max(i for i in range(n) if i % len(HOSTNAMES) == 0)


def _until_gone(probe: Probe, path: str, timeout: float = 60.0) -> float | None:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if probe.get(path)[0] == 404:
            return time.perf_counter() - t0
        time.sleep(0.002)
    return None


def cold_start(
    root: Path, backend_port: int, runs: int, log: Callable[[str], None]
) -> dict[str, Any]:
    ready: list[float] = []
    traffic: list[float] = []
    for k in range(runs):
        hw = Hatchway(root / f"cold-{k}")
        write_yaml(
            hw.inputs / "all.yaml",
            routes_scenario(N_ROUTES, port=hw.gateway_port, backend_port=backend_port),
        )
        hw.start()
        try:
            ready.append(hw.wait_ready())
            i = _last_app0_route(N_ROUTES)
            probe = Probe(hw.gateway_port, HOSTNAMES[0])
            elapsed, _ = probe.until(f"/r{i}/a", timeout=30)
            probe.close()
            traffic.append(
                time.monotonic() - hw.started_at if elapsed is not None else float("inf")
            )
        finally:
            hw.stop()
    row = {
        "routes": N_ROUTES,
        "runs": runs,
        "readyz_s": round(statistics.median(ready), 2),
        "readyz_all_s": [round(x, 2) for x in ready],
        "first_200_s": round(statistics.median(traffic), 2),
    }
    log(f"  cold start @ {N_ROUTES}: /readyz {row['readyz_s']} s, traffic {row['first_200_s']} s")
    return row


def churn(
    root: Path, backend_port: int, seconds: float, log: Callable[[str], None]
) -> dict[str, Any]:
    hw = Hatchway(root / "churn")
    write_yaml(
        hw.inputs / "all.yaml",
        routes_scenario(N_ROUTES, port=hw.gateway_port, backend_port=backend_port),
    )
    hw.start()
    try:
        hw.wait_ready()
        assert hw.proc is not None
        pid = hw.proc.pid
        time.sleep(2.0)
        steady = rss_mib(pid)
        envoy = hw.envoy_pid()
        envoy_steady = rss_mib(envoy) if envoy else None
        samples: list[tuple[float, float]] = []
        changes = 0
        t_start = time.perf_counter()
        last_sample = 0.0
        k = 0
        stuck = 0
        applied: list[float] = []
        while time.perf_counter() - t_start < seconds:
            i = N_ROUTES + k % 50  # a rolling window of extra routes
            host = HOSTNAMES[i % len(HOSTNAMES)].replace("*", "x")
            probe = Probe(hw.gateway_port, host)
            f = hw.inputs / f"churn-{i}.yaml"
            doc = http_route(i, N_ROUTES)
            op = k % 3
            # Each change is waited for through traffic, so it has really been applied.
            if op == 0:
                write_yaml(f, [doc])
                done, _ = probe.until(f"/r{i}/a", timeout=60)
            elif op == 1:
                doc["spec"]["rules"][0]["matches"][0]["path"]["value"] = f"/r{i}/e"
                write_yaml(f, [doc])
                done, _ = probe.until(f"/r{i}/e", timeout=60)
            else:
                f.unlink(missing_ok=True)
                done = _until_gone(probe, f"/r{i}/e")
            probe.close()
            if done is None:
                stuck += 1
            else:
                applied.append(done * 1000)
            changes += 1
            k += 1
            now = time.perf_counter() - t_start
            if now - last_sample >= 1.0:
                samples.append((round(now, 1), round(rss_mib(pid), 1)))
                last_sample = now
        samples.append((round(time.perf_counter() - t_start, 1), round(rss_mib(pid), 1)))
        fifth = max(1, len(samples) // 5)
        first = statistics.median(v for _, v in samples[:fifth])
        last = statistics.median(v for _, v in samples[-fifth:])
        growth = last - first
        row = {
            "routes": N_ROUTES,
            "seconds": seconds,
            "changes": changes,
            "changes_not_applied_within_60s": stuck,
            "apply_p50_ms": round(statistics.median(applied), 1) if applied else None,
            "rss_steady_mib": round(steady, 1),
            "rss_first_fifth_mib": round(first, 1),
            "rss_last_fifth_mib": round(last, 1),
            "rss_max_mib": max(v for _, v in samples),
            "growth_mib": round(growth, 1),
            "flat": growth <= max(15.0, 0.10 * first),
            "envoy_rss_steady_mib": round(envoy_steady, 1) if envoy_steady else None,
            "envoy_rss_end_mib": round(rss_mib(envoy), 1) if envoy else None,
            "samples": samples,
        }
        log(
            f"  churn {seconds:.0f}s: {changes} changes, RSS steady {row['rss_steady_mib']} -> "
            f"{row['rss_last_fifth_mib']} MiB (max {row['rss_max_mib']}), flat={row['flat']}"
        )
        return row
    finally:
        hw.stop()


def run(
    cold_runs: int = 3, churn_seconds: float = 60.0, log: Callable[[str], None] = print
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hw-bench-serve-") as tmp:
        root = Path(tmp)
        backend, backend_port = start_backend(root / "backend")
        try:
            return {
                "cold_start": cold_start(root, backend_port, cold_runs, log),
                "churn": churn(root, backend_port, churn_seconds, log),
            }
        finally:
            backend.stop()
