"""Loading `-f` inputs for the offline commands and reporting input problems to the user.

Exit status 2 (unusable input) when a path cannot be read or a file cannot be decoded: the
output would describe less than the user asked about. Objects that fail validation are
findings (reported, dropped, `--check` fails); objects of kinds Hatchway does not use are
skipped with one summary line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from hatchway.model.parse import ParseResult, skipped_summary
from hatchway.sources import files

EXIT_UNUSABLE = 2


def load(paths: Sequence[str]) -> ParseResult:
    """Load and validate; print each input error on stderr. Invalid objects are dropped."""
    result = files.load_paths(paths)
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    if result.unreadable:
        raise SystemExit(EXIT_UNUSABLE)
    summary = skipped_summary(result.skipped)
    if summary:
        print(f"note: {summary}", file=sys.stderr)
    return result
