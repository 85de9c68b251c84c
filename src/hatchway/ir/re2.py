"""The IR's regular-expression dialect is RE2 (Envoy's `safe_regex`): which patterns it accepts.

Envoy compiles `safe_regex` with RE2 (`RE2::Quiet`: default options) and refuses a pattern
RE2 cannot compile or whose compiled program is larger than `re2.max_program_size.
error_level`; either refusal rejects the whole RouteConfiguration. This module asks the same
RE2 library (`google-re2`) the same two questions, so the core can refuse a user pattern
first (route `UnsupportedValue`), the Envoy step can check every regex it emits before
publishing, and `explain` can match the way Envoy matches.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

# The RE2 program size Envoy accepts: the bootstrap sets `re2.max_program_size.error_level`
# to this (Envoy's default of 100 refuses ordinary `/(a|b|c)/[0-9]{1,12}` paths). RE2 matches
# in linear time whatever the size; the limit bounds memory.
MAX_PROGRAM_SIZE = 10_000


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2::Quiet
    return options


_OPTIONS = _options()


@lru_cache(maxsize=4096)
def compiled(pattern: str) -> Any:
    """`pattern` compiled as Envoy compiles it; raises `ValueError` with RE2's reason."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as err:
        reason = err.args[0] if err.args else err
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ValueError(f"invalid regular expression: {reason}") from None
    except UnicodeError:
        raise ValueError("invalid regular expression: not valid UTF-8") from None


def re2_problem(pattern: str) -> str | None:
    """None if Envoy's RE2 will accept `pattern`, else a short reason."""
    if not pattern:
        return "empty regular expression"
    try:
        size = compiled(pattern).programsize
    except ValueError as err:
        return str(err)
    if size > MAX_PROGRAM_SIZE:
        return f"RE2 program size of {size} > max program size of {MAX_PROGRAM_SIZE}"
    return None


def full_match(pattern: str, value: str) -> bool:
    """Whether `value` matches `pattern` whole, as Envoy's `safe_regex` matches (False for a
    pattern Envoy would refuse: such a route is never configured)."""
    try:
        return compiled(pattern).fullmatch(value) is not None
    except ValueError:
        return False
