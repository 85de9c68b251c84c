"""Loading `-f` inputs for the offline commands and reporting input errors to the user."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from hatchway.model.parse import ParseResult
from hatchway.sources import files


def load(paths: Sequence[str]) -> ParseResult:
    """Load and validate; print each input error on stderr. Invalid objects are dropped."""
    result = files.load_paths(paths)
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    return result
