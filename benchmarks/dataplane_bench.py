"""Data plane: requests/s and latency through Hatchway vs the same-session baselines.

Targets, for 1 route and for N routes where the matching one is last:
  direct    wrk -> nginx backend (`return 200`), the ceiling of this box;
  hatchway  wrk -> Envoy configured by `hatchway serve` -> backend;
  envoy     wrk -> the same Envoy binary, minimal hand-written static config -> backend;
  nginx     wrk -> nginx (Debian) reverse proxy with the equivalent locations -> backend.
Envoys run with the same `--concurrency`, nginx with that many workers. At each connection
count the targets take turns over `rounds` rounds (order reversed every other round), and each
row is the median of its runs: the 2 shared cores make single runs swing by ±30 %.

On a box with 2+ cores the proxy under test (every thread of it) runs alone on the first core
and wrk, the backend and the control plane share the others (`pinned` in the results): the
proxy is then the bottleneck of every row, and the rows compare proxies, not contention.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.baselines import start_backend, start_nginx_proxy, start_static_envoy
from benchmarks.gateway import Hatchway
from benchmarks.load import wrk
from benchmarks.procs import cpu_seconds, http_status, pin, tree
from benchmarks.scenarios import PROXY_HOST, proxy_prefix, proxy_scenario, write_yaml

CONNECTIONS = (1, 16, 128)

PROXY_CPUS = {0}  # the proxy under test
OTHER_CPUS = set(range(1, os.cpu_count() or 1))  # load generator, backend, control plane
PINNED = bool(OTHER_CPUS)


def _check(url: str) -> None:
    code = http_status(url, host=PROXY_HOST)
    if code != 200:
        raise RuntimeError(f"{url} answered {code} before the run (expected 200)")


def _run(
    url: str,
    connections: int,
    duration: float,
    cpu_pids: Callable[[], list[int]],
    warm_up: bool = True,
) -> dict[str, Any]:
    if warm_up:
        wrk(url, connections, min(1.0, duration), PROXY_HOST)  # pools, caches
    pids = cpu_pids()
    cpu0 = sum(cpu_seconds(p) for p in pids)
    res = wrk(url, connections, duration, PROXY_HOST).to_dict()
    cpu = sum(cpu_seconds(p) for p in pids) - cpu0
    res["proxy_cpu_cores"] = round(cpu / duration, 2)
    res["proxy_cpu_us_per_req"] = round(cpu / res["requests"] * 1e6, 1) if res["requests"] else None
    return res


_MEDIAN_FIELDS = ("rps", "p50_ms", "p90_ms", "p99_ms", "proxy_cpu_cores", "proxy_cpu_us_per_req")
_SUM_FIELDS = ("requests", "non_2xx", "socket_errors")


def median_row(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from repeated runs: the median of each measure, errors summed, raw rps kept."""
    row = dict(runs[0])
    for k in _MEDIAN_FIELDS:
        values = [r[k] for r in runs if r.get(k) is not None]
        row[k] = round(statistics.median(values), 3) if values else None
    for k in _SUM_FIELDS:
        row[k] = sum(r[k] for r in runs)
    row["runs_rps"] = [r["rps"] for r in runs]
    return row


def _turns(
    targets: dict[str, tuple[str, Callable[[], list[int]]]],
    connections: int,
    duration: float,
    rounds: int,
) -> dict[str, dict[str, Any]]:
    """Every target `rounds` times, taking turns (reversed order every other round)."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    for r in range(rounds):
        order = list(targets) if r % 2 == 0 else list(reversed(targets))
        for name in order:
            url, pids = targets[name]
            runs[name].append(_run(url, connections, duration, pids, warm_up=r == 0))
            time.sleep(0.2)
    return {name: median_row(rs) for name, rs in runs.items()}


def run(
    route_counts: tuple[int, ...] = (1, 1000),
    connections: tuple[int, ...] = CONNECTIONS,
    duration: float = 5.0,
    concurrency: int = 1,
    log: Callable[[str], None] = print,
    *,
    rounds: int = 4,
) -> dict[str, Any]:
    """`duration`: seconds of load per (target, connections), split over `rounds` runs."""
    per_run = float(max(1, round(duration / rounds)))  # wrk takes whole seconds
    out: dict[str, Any] = {
        "pinned": (
            f"proxies on CPU {sorted(PROXY_CPUS)}, "
            f"wrk/backend/control plane on {sorted(OTHER_CPUS)}"
            if PINNED
            else "no (1 core)"
        ),
        "duration_s": per_run,
        "rounds": rounds,
        "envoy_concurrency": concurrency,
        "nginx_workers": concurrency,
        "load": "wrk -t1 --latency; 1 s warm-up before the first run; medians of the runs",
        "rows": [],
    }
    with tempfile.TemporaryDirectory(prefix="hw-bench-dp-") as tmp:
        root = Path(tmp)
        backend, backend_port = start_backend(root / "backend")
        own = os.sched_getaffinity(0)
        if PINNED:
            pin(tree(backend.pid), OTHER_CPUS)
            os.sched_setaffinity(0, OTHER_CPUS)  # wrk, started from here, inherits it
        try:
            direct = f"http://127.0.0.1:{backend_port}/r0000/x"
            for c in connections:
                row = _turns({"direct": (direct, list)}, c, per_run, rounds)["direct"]
                out["rows"].append({"target": "direct", "routes": 0, **row})
                log(f"  direct      c={c:<3} {row['rps']:>9.0f} rps  p99 {row['p99_ms']} ms")
            for n in route_counts:
                out["rows"].extend(
                    _routes(
                        root / f"n{n}",
                        n,
                        backend_port,
                        connections,
                        (per_run, rounds),
                        concurrency,
                        log,
                    )
                )
        finally:
            os.sched_setaffinity(0, own)
            backend.stop()
    return out


def _routes(  # noqa: PLR0917 - one call site, every argument is a knob of the run
    root: Path,
    n: int,
    backend_port: int,
    connections: tuple[int, ...],
    timing: tuple[float, int],
    concurrency: int,
    log: Callable[[str], None],
) -> list[dict[str, Any]]:
    path = f"{proxy_prefix(n - 1)}x"  # the last route matches
    hw = Hatchway(root / "hatchway", concurrency=concurrency)
    write_yaml(hw.inputs / "routes.yaml", proxy_scenario(n, hw.gateway_port, backend_port))
    hw.start()
    rows: list[dict[str, Any]] = []
    nginx = envoy = None
    try:
        nginx, nginx_port = start_nginx_proxy(root / "nginx", n, backend_port)
        envoy, envoy_port = start_static_envoy(root / "envoy", n, backend_port, concurrency)
        envoy_pid, nginx_pid = envoy.pid, nginx.pid
        hw.wait_ready()
        if PINNED:
            envoy_of_hw = hw.envoy_pid()
            assert hw.proc is not None
            pin([p for p in tree(hw.proc.pid) if p != envoy_of_hw], OTHER_CPUS)
            pin([envoy_pid, *([envoy_of_hw] if envoy_of_hw else []), *tree(nginx_pid)], PROXY_CPUS)
        targets: dict[str, tuple[str, Callable[[], list[int]]]] = {
            "hatchway": (
                f"http://127.0.0.1:{hw.gateway_port}{path}",
                lambda: [p for p in [hw.envoy_pid()] if p],
            ),
            "envoy": (f"http://127.0.0.1:{envoy_port}{path}", lambda: [envoy_pid]),
            "nginx": (f"http://127.0.0.1:{nginx_port}{path}", lambda: tree(nginx_pid)),
        }
        for url, _ in targets.values():
            _check(url)
        per_run, rounds = timing
        for c in connections:
            for name, row in _turns(targets, c, per_run, rounds).items():
                rows.append({"target": name, "routes": n, **row})
                log(
                    f"  {name:<11} c={c:<3} routes={n:<5} {row['rps']:>9.0f} rps (median of "
                    f"{row['runs_rps']})  p50 {row['p50_ms']} p99 {row['p99_ms']} ms"
                )
    finally:
        for p in (envoy, nginx):
            if p is not None:
                p.stop()
        hw.stop()
    return rows


def ratios(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Hatchway's throughput over each baseline's, per (routes, connections)."""
    by = {(r["target"], r["routes"], r["connections"]): r for r in result["rows"]}
    out = []
    for (target, n, c), row in sorted(by.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        if target != "hatchway":
            continue
        env, ngx = by.get(("envoy", n, c)), by.get(("nginx", n, c))
        out.append(
            {
                "routes": n,
                "connections": c,
                "vs_envoy": round(row["rps"] / env["rps"], 3) if env and env["rps"] else None,
                "vs_nginx": round(row["rps"] / ngx["rps"], 3) if ngx and ngx["rps"] else None,
            }
        )
    return out
