"""Control-plane cost: parse, translate (the core) and xDS build at 100 / 1,000 / 10,000 routes.

Each size runs in a fresh interpreter so peak RSS is that size's alone. The baseline, run in
the same session, is a plain `copy.deepcopy` of the same input documents: a floor any Python
control plane pays to touch the objects once, so the ratio travels across machines.
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


def measure(n: int) -> dict[str, Any]:
    from benchmarks.scenarios import routes_scenario
    from hatchway import xds
    from hatchway.model.parse import Document, parse_documents
    from hatchway.translate import translate

    docs = routes_scenario(n)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    copy.deepcopy(docs)
    t1 = time.perf_counter()
    parsed = parse_documents([Document("bench", i, d) for i, d in enumerate(docs)])
    t2 = time.perf_counter()
    result = translate(parsed.snapshot)
    t3 = time.perf_counter()
    resources = xds.build(result.ir)
    t4 = time.perf_counter()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert not parsed.errors, parsed.errors[:3]
    return {
        "routes": n,
        "baseline_deepcopy_s": round(t1 - t0, 4),
        "parse_s": round(t2 - t1, 4),
        "translate_s": round(t3 - t2, 4),
        "xds_build_s": round(t4 - t3, 4),
        "peak_rss_mib": round(rss1 / 1024, 1),
        "rss_growth_mib": round((rss1 - rss0) / 1024, 1),
        "translate_vs_baseline": round((t3 - t2) / max(t1 - t0, 1e-9), 2),
        "virtual_hosts": sum(
            len(c.virtual_hosts or ()) for li in result.ir.listeners for c in li.chains
        ),
        "xds_routes_bytes": sum(m.ByteSize() for m in resources.routes.values()),
    }


def run_all() -> list[dict[str, Any]]:
    rows = []
    for n in SIZES:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.translate_bench", str(n)],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(measure(int(sys.argv[1]))))
    else:
        for row in run_all():
            print(json.dumps(row))
