"""`python -m benchmarks [--quick] [--only SECTION ...] [--churn-minutes M]`.

Runs the sections in order (control plane, propagation, serve, data plane), writes
`benchmarks/results/<section>.json` after each and regenerates the tables in
`benchmarks/README.md`. Loopback only; every run is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks import dataplane_bench, propagation_bench, report, serve_bench, translate_bench
from benchmarks.load import INSTALL_HINT, missing_tools
from benchmarks.machine import describe

SECTIONS = ("control_plane", "propagation", "serve", "dataplane")


def _log(msg: str) -> None:
    print(msg, flush=True)


def _sections(args: argparse.Namespace) -> dict[str, Callable[[], dict[str, Any]]]:
    q = args.quick
    churn_s = args.churn_minutes * 60 if args.churn_minutes else (15.0 if q else 120.0)
    return {
        "control_plane": lambda: translate_bench.run_all(quick=q, timeout=60 if q else 150),
        "propagation": lambda: propagation_bench.run(
            sizes=(100, 1000) if q else (100, 3000),
            samples=5 if q else 20,
            edits=5 if q else 20,
            log=_log,
        ),
        "serve": lambda: serve_bench.run(cold_runs=1 if q else 3, churn_seconds=churn_s, log=_log),
        "dataplane": lambda: dataplane_bench.run(
            route_counts=(1, 1000),
            duration=2.0 if q else 12.0,
            concurrency=args.concurrency,
            log=_log,
            rounds=1 if q else 6,
        ),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="short runs (≤ 3 min): smaller sizes, fewer samples, 2 s load runs",
    )
    p.add_argument(
        "--only",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="run only these sections (the README keeps the others' last results)",
    )
    p.add_argument(
        "--churn-minutes",
        type=float,
        default=None,
        help="churn duration (default 2 min, 15 s with --quick; the issue's full run is 10)",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="Envoy --concurrency (both Envoys) and nginx workers (default 1)",
    )
    p.add_argument("--no-readme", action="store_true", help="only write results/*.json")
    args = p.parse_args(argv)

    missing = missing_tools()
    if missing and ({"dataplane", "propagation", "serve"} & set(args.only)):
        print(
            f"missing tools: {', '.join(missing)}\ninstall them with: {INSTALL_HINT}",
            file=sys.stderr,
        )
        return 2

    report.RESULTS.mkdir(exist_ok=True)
    machine = describe()
    runners = _sections(args)
    t_all = time.monotonic()
    for name in SECTIONS:
        if name not in args.only:
            continue
        _log(f"== {name}")
        t0 = time.monotonic()
        data = runners[name]()
        elapsed = round(time.monotonic() - t0, 1)
        record = {
            "machine": machine,
            "mode": "quick" if args.quick else "full",
            "elapsed_s": elapsed,
            "data": data,
        }
        (report.RESULTS / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        _log(f"   {name} done in {elapsed} s")
        if not args.no_readme:
            report.update_readme(report.load_results())
    _log(f"== all done in {time.monotonic() - t_all:.0f} s; tables in benchmarks/README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
