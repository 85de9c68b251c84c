"""`hatchway status`: the status the controller would write, offline (usable as a CI gate).

Exit status: 0 clean (or, without `--check`, whatever the statuses say); 1 with `--check`
when anything will not serve (a negative condition, an input error, an error-severity
warning); 2 when the input cannot be read (see `cli.input_files`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from hatchway import render
from hatchway.cli import input_files, output
from hatchway.sources import clock
from hatchway.status.problems import condition_sets, problems
from hatchway.translate import translate

EXIT_FINDINGS = 1


def run(args: argparse.Namespace) -> int:
    loaded = input_files.load(args.paths)
    result = translate(loaded.snapshot)
    doc = render.report_to_dicts(result.report)
    resources = stamp(doc["resources"], clock.now_rfc3339())
    if args.output == "table":
        output.write(table(resources, doc["warnings"]))
    else:
        output.emit(doc, args.output)
    for w in doc["warnings"]:
        print(f"{w['severity']}: {w['object']}: {w['message']} [{w['code']}]", file=sys.stderr)
    if args.check:
        failures = [str(p) for p in problems(resources, doc["warnings"])]
        failures += [f"input: {e}" for e in loaded.errors]
        for line in failures:
            print(f"check: {line}", file=sys.stderr)
        return EXIT_FINDINGS if failures else 0
    return 0


def stamp(resources: list[dict[str, Any]], when: str) -> list[dict[str, Any]]:
    """Add `lastTransitionTime`, required on every Kubernetes condition; the core has no clock."""
    for _, _, conditions in condition_sets(resources):
        for c in conditions:
            c.setdefault("lastTransitionTime", when)
    return resources


def _who(res: dict[str, Any], where: str) -> str:
    meta = res.get("metadata", {})
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{res['kind']} {ns}{meta.get('name')}" + (f" {where}" if where else "")


def table(resources: list[dict[str, Any]], warnings: Sequence[dict[str, Any]] = ()) -> str:
    rows = [("WHAT", "CONDITIONS", "MESSAGE")]
    for res, where, conditions in condition_sets(resources):
        if not conditions:
            continue
        summary = " ".join(f"{c['type']}={c['status']}" for c in conditions)
        bad = [c for c in conditions if c["status"] != "True" or c["type"] == "PartiallyInvalid"]
        msg = "; ".join(f"{c['reason']}: {c.get('message', '')}" for c in bad)
        rows.append((_who(res, where), summary, msg))
    for w in warnings:
        rows.append(
            (
                w["object"].replace("/", " ", 1),
                w["severity"].upper(),
                f"{w['code']}: {w['message']}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    return "".join(
        f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}".rstrip() + "\n" for r in rows
    )
