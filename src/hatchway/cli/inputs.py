"""Loading `-f` inputs for the offline commands and reporting input errors to the user."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from hatchway.model.parse import InputError, ParseResult
from hatchway.sources import files


def describe(error: InputError) -> str:
    """One line a person can act on: where, which object, which field, what is wrong."""
    where = error.file or "<input>"
    if error.document is not None:
        where += f" (document {error.document})"
    obj = ""
    if error.kind:
        ns = f"{error.namespace}/" if error.namespace else ""
        obj = f" {error.kind} {ns}{error.name or '?'}"
    field = f" {error.field}:" if error.field else ""
    return f"{where}:{obj}{field} {error.message}"


def load(paths: Sequence[str]) -> ParseResult:
    """Load and validate; print each input error on stderr. Invalid objects are dropped."""
    result = files.load_paths(paths)
    for error in result.errors:
        print(f"error: {describe(error)}", file=sys.stderr)
    return result
