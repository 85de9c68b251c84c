"""What seeing every route costs (issue 17), measured in one session:

1. Throughput with the access log and per-route stats on (serve's defaults; the access log
   goes to serve's stdout, a file here) vs off (`--access-log off --route-metrics off`):
   two `hatchway serve`, each Envoy alone on CPU 0 while under load, wrk and the backend on
   the other core, the two taking turns (order reversed every other round); medians.
2. `/metrics` at N routes (3,000) once every route served a request: size, series, and the
   time a scrape takes (serve reads Envoy's stats and maps them), median of repeated scrapes;
   Envoy's own stats (`/metrics/envoy`) beside it.

`.venv/bin/python -m benchmarks.observability_bench [--quick]`; writes
`results/observability.json`. Loopback only, bounded.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.baselines import start_backend
from benchmarks.dataplane_bench import OTHER_CPUS, PINNED, PROXY_CPUS, median_row
from benchmarks.gateway import Hatchway
from benchmarks.load import INSTALL_HINT, missing_tools, wrk
from benchmarks.machine import describe
from benchmarks.procs import cpu_seconds, pin, tree
from benchmarks.report import RESULTS
from benchmarks.scenarios import PROXY_HOST, proxy_prefix, proxy_scenario, write_yaml

OFF = ("--access-log", "off", "--route-metrics", "off")


def _run(url: str, connections: int, duration: float, pid: int) -> dict[str, Any]:
    cpu0 = cpu_seconds(pid)
    res = wrk(url, connections, duration, PROXY_HOST).to_dict()
    cpu = cpu_seconds(pid) - cpu0
    res["proxy_cpu_us_per_req"] = round(cpu / res["requests"] * 1e6, 1) if res["requests"] else None
    res["proxy_cpu_cores"] = round(cpu / duration, 2)
    return res


def throughput(  # noqa: PLR0917 - the knobs of one run
    root: Path, routes: int, connections: tuple[int, ...], per_run: float, rounds: int, log: Any
) -> list[dict[str, Any]]:
    backend, backend_port = start_backend(root / "backend")
    own = os.sched_getaffinity(0)
    gateways = {
        "on": Hatchway(root / "on"),
        "off": Hatchway(root / "off", extra_args=OFF),
    }
    rows: list[dict[str, Any]] = []
    try:
        if PINNED:
            pin(tree(backend.pid), OTHER_CPUS)
            os.sched_setaffinity(0, OTHER_CPUS)
        for hw in gateways.values():
            write_yaml(
                hw.inputs / "routes.yaml", proxy_scenario(routes, hw.gateway_port, backend_port)
            )
            hw.start()
        for hw in gateways.values():
            hw.wait_ready()
            assert hw.proc is not None
            envoy = hw.envoy_pid()
            pin([p for p in tree(hw.proc.pid) if p != envoy], OTHER_CPUS)
            if envoy and PINNED:
                pin([envoy], PROXY_CPUS)
        path = f"{proxy_prefix(routes - 1)}x"
        for c in connections:
            runs: dict[str, list[dict[str, Any]]] = {k: [] for k in gateways}
            for r in range(rounds):
                order = list(gateways) if r % 2 == 0 else list(reversed(gateways))
                for name in order:
                    hw = gateways[name]
                    url = f"http://127.0.0.1:{hw.gateway_port}{path}"
                    pid = hw.envoy_pid()
                    assert pid is not None
                    if r == 0:
                        wrk(url, c, 1.0, PROXY_HOST)
                    runs[name].append(_run(url, c, per_run, pid))
                    time.sleep(0.2)
            for name, rs in runs.items():
                row = {"telemetry": name, "routes": routes, **median_row(rs)}
                rows.append(row)
                log(
                    f"  telemetry {name:<3} c={c:<3} {row['rps']:>9.0f} rps "
                    f"(runs {row['runs_rps']}) p99 {row['p99_ms']} ms, "
                    f"{row['proxy_cpu_us_per_req']} µs CPU/req"
                )
        size = (gateways["on"].workdir / "serve.log").stat().st_size
        log(f"  access log written by the 'on' gateway: {size / 1e6:.1f} MB")
    finally:
        os.sched_setaffinity(0, own)
        for hw in gateways.values():
            hw.stop()
        backend.stop()
    return rows


def _get(port: int, path: str, host: str | None = None, conn: Any = None) -> tuple[int, bytes]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": host} if host else {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        if own:
            conn.close()


def metrics_at(root: Path, routes: int, scrapes: int, log: Any) -> dict[str, Any]:
    backend, backend_port = start_backend(root / "backend-m")
    hw = Hatchway(root / "metrics")
    try:
        write_yaml(hw.inputs / "routes.yaml", proxy_scenario(routes, hw.gateway_port, backend_port))
        hw.start()
        ready_s = hw.wait_ready(timeout=180)
        conn = http.client.HTTPConnection("127.0.0.1", hw.gateway_port, timeout=10)
        t0 = time.monotonic()
        for i in range(routes):  # one request per route: every route has its series
            status, _ = _get(hw.gateway_port, f"{proxy_prefix(i)}x", PROXY_HOST, conn)
            assert status == 200, (i, status)
        conn.close()
        traffic_s = time.monotonic() - t0
        time.sleep(6)  # Envoy publishes histograms every 5 s
        times: list[float] = []
        body = b""
        for _ in range(scrapes):
            t = time.perf_counter()
            status, body = _get(hw.admin_port, "/metrics")
            times.append(time.perf_counter() - t)
            assert status == 200
        text = body.decode()
        series = [line for line in text.splitlines() if line and not line.startswith("#")]
        routes_seen = sum(
            1
            for s in series
            if s.startswith("hatchway_route_requests_total{") and 'code="2xx"' in s
        )
        t = time.perf_counter()
        _, envoy_body = _get(hw.admin_port, "/metrics/envoy")
        envoy_s = time.perf_counter() - t
        out = {
            "routes": routes,
            "ready_s": round(ready_s, 2),
            "one_request_per_route_s": round(traffic_s, 2),
            "metrics_bytes": len(body),
            "metrics_series": len(series),
            "route_series": sum(1 for s in series if s.startswith("hatchway_route_")),
            "routes_with_series": routes_seen,
            "scrape_s_median": round(statistics.median(times), 3),
            "scrape_s_max": round(max(times), 3),
            "scrapes": scrapes,
            "envoy_metrics_bytes": len(envoy_body),
            "envoy_metrics_s": round(envoy_s, 3),
            "serve_rss_mib": round(_rss(hw.proc.pid if hw.proc else 0) / 2**20, 1),
        }
        log(f"  /metrics at {routes} routes: {json.dumps(out)}")
        return out
    finally:
        hw.stop()
        backend.stop()


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.observability_bench")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--duration", type=float, default=2.0, help="seconds per wrk run")
    p.add_argument("--routes", type=int, default=3000, help="routes for the /metrics run")
    p.add_argument("--only", choices=["throughput", "metrics"], default=None)
    args = p.parse_args(argv)
    if missing_tools():
        print(f"missing tools: {missing_tools()}; {INSTALL_HINT}", file=sys.stderr)
        return 2
    log: Callable[[str], None] = lambda m: print(m, flush=True)  # noqa: E731
    rounds = 2 if args.quick else args.rounds
    data: dict[str, Any] = {
        "pinned": PINNED,
        "rounds": rounds,
        "duration_s": args.duration,
        "off_flags": list(OFF),
    }
    with tempfile.TemporaryDirectory(prefix="hw-bench-obs-") as tmp:
        root = Path(tmp)
        data["throughput"] = []
        if args.only in (None, "throughput"):
            log("== throughput, access log and route stats on vs off")
            rows = throughput(root / "t1", 1, (1, 16, 128), args.duration, rounds, log)
            rows += throughput(root / "t1000", 1000, (16,), args.duration, rounds, log)
            data["throughput"] = rows
        if args.only in (None, "metrics"):
            log("== /metrics at scale")
            data["metrics"] = metrics_at(root, 300 if args.quick else args.routes, 10, log)
    on_off = {}
    for r in data["throughput"]:
        on_off.setdefault((r["routes"], r["connections"]), {})[r["telemetry"]] = r["rps"]
    data["ratios"] = [
        {"routes": n, "connections": c, "on_over_off": round(v["on"] / v["off"], 3)}
        for (n, c), v in sorted(on_off.items())
    ]
    log(f"  on / off: {data['ratios']}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "observability.json"
    if args.only and path.exists():  # keep the other part's last results
        last = json.loads(path.read_text())["data"]
        kept = "metrics" if args.only == "throughput" else "throughput"
        if kept in last:
            data[kept] = last[kept]
            if kept == "throughput":
                data["ratios"] = last.get("ratios", [])
    record = {"machine": describe(), "data": data}
    path.write_text(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
