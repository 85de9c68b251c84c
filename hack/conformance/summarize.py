"""Per-test results from a `conformance.test -test.v` log: one line per test, then totals.

python hack/conformance/summarize.py suite.log [--markdown]
"""

from __future__ import annotations

import re
import sys
from collections import Counter

# "--- PASS: TestConformance/HTTPRouteWeight (12.34s)": the suite's tests are the first level.
RESULT = re.compile(r"^\s*--- (PASS|FAIL|SKIP): TestConformance/([^/\s]+) \(([\d.]+)s\)")


def results(text: str) -> dict[str, tuple[str, float]]:
    out: dict[str, tuple[str, float]] = {}
    for line in text.splitlines():
        m = RESULT.match(line)
        if m:
            out[m.group(2)] = (m.group(1), float(m.group(3)))
    return out


def main(argv: list[str]) -> int:
    with open(argv[0], encoding="utf-8", errors="replace") as f:
        res = results(f.read())
    markdown = "--markdown" in argv
    if markdown:
        print("| Test | Result | Time (s) |\n|---|---|---|")
    for name, (verdict, secs) in sorted(res.items()):
        print(
            f"| {name} | {verdict} | {secs:.1f} |"
            if markdown
            else f"{verdict:4} {secs:7.1f}s {name}"
        )
    counts = Counter(v for v, _ in res.values())
    print(f"\ntotal {len(res)}: " + ", ".join(f"{k} {counts[k]}" for k in ("PASS", "FAIL", "SKIP")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
