"""The IR's regular-expression dialect is RE2 (Envoy's `safe_regex`): which patterns it accepts.

Envoy compiles `safe_regex` with RE2 and refuses a pattern RE2 cannot compile or whose
compiled program is larger than `re2.max_program_size.error_level`; either refusal rejects
the whole RouteConfiguration. This module asks the same RE2 library (`google-re2`) the same
two questions, so the core can refuse a user pattern first (route `UnsupportedValue`), the
Envoy step can check every regex it emits before publishing, and `explain` can match the way
Envoy matches.

The pinned Envoy's RE2 works on bytes as Latin-1, not UTF-8: it measures `.` as 6
instructions (UTF-8: 12) and `[^/]+` as 7 (UTF-8: 13), and refuses `\\x{100}` as "invalid
escape sequence" (tests/unit/xds/test_xds_envoy_rejects.py checks sizes against the binary).
So patterns and values are matched here as their UTF-8 bytes read as Latin-1, too.
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
    options.encoding = re2.Options.Encoding.LATIN1  # as Envoy (see above)
    return options


_OPTIONS = _options()


@lru_cache(maxsize=4096)
def compiled(pattern: str) -> Any:
    """`pattern` compiled as Envoy compiles it; raises `ValueError` with RE2's reason."""
    try:
        return re2.compile(pattern.encode("utf-8"), _OPTIONS)
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
        return compiled(pattern).fullmatch(value.encode("utf-8", "replace")) is not None
    except ValueError:
        return False
