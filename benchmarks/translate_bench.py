"""Control-plane cost: parse, translate (the core) and xDS build at 100 / 1,000 / 10,000 routes.

Each size runs in a fresh interpreter so peak RSS is that size's alone. The baseline, run in
the same session, is a plain `copy.deepcopy` of the same input documents: a floor any Python
control plane pays to touch the objects once, so the ratio travels across machines.

The child prints one JSON line per finished stage, so a stage that overruns its time budget
still leaves the earlier stages' numbers (and the overrun is reported as such).
"""

from __future__ import annotations

import copy
import json
import resource
import subprocess
import sys
import time
from typing import Any

SIZES = (100, 1_000, 10_000)
QUICK_SIZES = (100, 1_000)


def _peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _emit(row: dict[str, Any]) -> None:
    print(json.dumps(row), flush=True)


def measure(n: int, own_hostnames: bool) -> None:
    """Run in the child: emit the row after every stage."""
    from benchmarks.scenarios import routes_scenario
    from hatchway import xds
    from hatchway.model.parse import Document, parse_documents
    from hatchway.translate import translate

    row: dict[str, Any] = {"routes": n, "own_hostnames": own_hostnames}
    docs = routes_scenario(n, hostnames_per_route=own_hostnames)
    row["rss_before_mib"] = _peak_rss_mib()
    t0 = time.perf_counter()
    copy.deepcopy(docs)
    row["baseline_deepcopy_s"] = round(time.perf_counter() - t0, 4)
    t0 = time.perf_counter()
    parsed = parse_documents([Document("bench", i, d) for i, d in enumerate(docs)])
    row["parse_s"] = round(time.perf_counter() - t0, 4)
    row["parse_errors"] = len(parsed.errors)
    _emit(row)
    t0 = time.perf_counter()
    result = translate(parsed.snapshot)
    row["translate_s"] = round(time.perf_counter() - t0, 4)
    row["translate_vs_baseline"] = round(row["translate_s"] / row["baseline_deepcopy_s"], 2)
    row["virtual_hosts"] = sum(
        len(c.virtual_hosts or ()) for li in result.ir.listeners for c in li.chains
    )
    row["ir_routes"] = sum(
        len(vh.routes)
        for li in result.ir.listeners
        for c in li.chains
        for vh in c.virtual_hosts or ()
    )
    row["peak_rss_mib"] = _peak_rss_mib()
    _emit(row)
    t0 = time.perf_counter()
    resources = xds.build(result.ir)
    row["xds_build_s"] = round(time.perf_counter() - t0, 4)
    row["xds_routes_bytes"] = sum(
        len(b) for (t, _), b in resources.serialized.items() if t == xds.ROUTE
    )
    row["xds_clusters"] = len(resources.clusters)
    row["peak_rss_mib"] = _peak_rss_mib()
    _emit(row)


def run_one(n: int, own_hostnames: bool = False, timeout: float = 240.0) -> dict[str, Any]:
    """One size in a fresh interpreter; a timeout keeps the stages that finished."""
    cmd = [sys.executable, "-m", "benchmarks.translate_bench", str(n)]
    if own_hostnames:
        cmd.append("--own-hostnames")
    try:
        out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
        stdout, note = out.stdout, (None if out.returncode == 0 else out.stderr[-500:])
    except subprocess.TimeoutExpired as err:
        raw = err.stdout or b""
        stdout = raw.decode() if isinstance(raw, bytes) else raw
        note = f"stopped after {timeout:.0f}s (time budget); later stages not measured"
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    row: dict[str, Any] = json.loads(lines[-1]) if lines else {"routes": n}
    if note:
        row["note"] = note
    return row


def run_all(quick: bool = False, timeout: float = 240.0) -> dict[str, Any]:
    sizes = QUICK_SIZES if quick else SIZES
    ladder = [run_one(n, timeout=timeout) for n in sizes]
    # Hostname x route pairing check: one hostname per route, at the largest size.
    many = [run_one(sizes[-1], own_hostnames=True, timeout=timeout)]
    return {"ladder": ladder, "own_hostnames": many}


if __name__ == "__main__":
    if len(sys.argv) > 1:
        measure(int(sys.argv[1]), "--own-hostnames" in sys.argv)
    else:
        print(json.dumps(run_all(quick=True), indent=1))
