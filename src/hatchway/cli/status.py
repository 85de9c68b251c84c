"""`hatchway status`: the status the controller would write, offline (usable as a CI gate)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from hatchway import render
from hatchway.cli import inputs, output
from hatchway.translate import translate

# Positive-polarity conditions that must be True for `--check` to pass.
_MUST_BE_TRUE = {"Accepted", "ResolvedRefs", "Programmed"}


def run(args: argparse.Namespace) -> int:
    loaded = inputs.load(args.paths)
    result = translate(loaded.snapshot)
    doc = render.report_to_dicts(result.report)
    resources = stamp(doc["resources"], _now())
    if args.output == "table":
        sys.stdout.write(table(resources))
    else:
        output.emit(doc, args.output)
    for w in result.report.warnings:
        print(f"warning: {w.object}: {w.message}", file=sys.stderr)
    if args.check:
        failures = [*problems(resources), *(f"input: {e}" for e in loaded.errors)]
        for line in failures:
            print(f"check: {line}", file=sys.stderr)
        return 1 if failures else 0
    return 0


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def stamp(resources: list[dict[str, Any]], when: str) -> list[dict[str, Any]]:
    """Add `lastTransitionTime`, required on every Kubernetes condition; the core has no clock."""
    for _, conditions in _condition_sets(resources):
        for c in conditions:
            c.setdefault("lastTransitionTime", when)
    return resources


def _condition_sets(
    resources: list[dict[str, Any]],
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Every condition list in the resources, with a label saying whose it is."""
    for res in resources:
        meta = res.get("metadata", {})
        ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
        who = f"{res['kind']} {ns}{meta.get('name')}"
        st = res.get("status", {})
        yield who, st.get("conditions", [])
        for listener in st.get("listeners", []):
            yield f"{who} listener {listener['name']}", listener.get("conditions", [])
        for parent in st.get("parents", []):
            yield f"{who} parent {_ref(parent.get('parentRef', {}))}", parent.get("conditions", [])
        for anc in st.get("ancestors", []):
            yield f"{who} ancestor {_ref(anc.get('ancestorRef', {}))}", anc.get("conditions", [])


def _ref(ref: dict[str, Any]) -> str:
    s = f"{ref.get('kind', 'Gateway')} {ref.get('namespace', '')}/{ref.get('name')}".replace(
        " /", " "
    )
    if ref.get("sectionName"):
        s += f"/{ref['sectionName']}"
    if ref.get("port"):
        s += f":{ref['port']}"
    return s


def problems(resources: list[dict[str, Any]]) -> Iterator[str]:
    for who, conditions in _condition_sets(resources):
        for c in conditions:
            if c["type"] in _MUST_BE_TRUE and c["status"] != "True":
                yield f"{who}: {c['type']}={c['status']} ({c['reason']}): {c.get('message', '')}"
            elif c["type"] == "PartiallyInvalid" and c["status"] == "True":
                yield f"{who}: PartiallyInvalid ({c['reason']}): {c.get('message', '')}"


def table(resources: list[dict[str, Any]]) -> str:
    rows = [("WHAT", "CONDITIONS", "MESSAGE")]
    for who, conditions in _condition_sets(resources):
        if not conditions:
            continue
        summary = " ".join(f"{c['type']}={c['status']}" for c in conditions)
        bad = [c for c in conditions if c["status"] != "True" or c["type"] == "PartiallyInvalid"]
        msg = "; ".join(f"{c['reason']}: {c.get('message', '')}" for c in bad)
        rows.append((who, summary, msg))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    return "".join(
        f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}".rstrip() + "\n" for r in rows
    )
