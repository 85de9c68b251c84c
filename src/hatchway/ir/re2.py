"""The IR's regular-expression dialect is RE2 (Envoy's `safe_regex`): which patterns it accepts.

Envoy compiles `safe_regex` with RE2; a pattern it rejects NACKs the whole route
configuration. The core uses this to reject user patterns first (route `UnsupportedValue`),
and the Envoy step to check every regex it emits before publishing.
No RE2 binding is pinned: we compile with Python's `re` (catches syntax errors) and refuse the
Perl-only constructs RE2 lacks. This is conservative: a few RE2-valid patterns that Python
does not parse (e.g. `\\z`) are rejected too, never the reverse.
"""

from __future__ import annotations

import re

_MAX_LENGTH = 1024  # the CRDs cap path and header match values near this size

# Constructs Python accepts and RE2 does not, with the reason we tell the user.
_UNSUPPORTED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\(\?[=!]"), "lookahead is not supported by RE2"),
    (re.compile(r"\(\?<[=!]"), "lookbehind is not supported by RE2"),
    (re.compile(r"\(\?>"), "atomic groups are not supported by RE2"),
    (re.compile(r"\(\?\("), "conditional groups are not supported by RE2"),
    (re.compile(r"\(\?P="), "backreferences are not supported by RE2"),
    (re.compile(r"\\[1-9]"), "backreferences are not supported by RE2"),
    (re.compile(r"\\Z"), "\\Z is not supported by RE2 (use $)"),
    (re.compile(r"(?:[*+?}])[+]"), "possessive quantifiers are not supported by RE2"),
    (re.compile(r"\(\?#"), "comments are not supported by RE2"),
    (re.compile(r"\{,\d+\}"), "`{,n}` means a literal in RE2; write `{0,n}`"),
)
_REPEAT = re.compile(r"\{(\d+)(?:,(\d*))?\}")
_MAX_REPEAT = 1000  # RE2's limit on a counted repetition


def _strip_escaped_backslashes(pattern: str) -> str:
    """Drop `\\\\` pairs so a literal backslash never looks like the start of an escape."""
    return pattern.replace("\\\\", "")


def _strip_classes(pattern: str) -> str:
    """Remove bracket expressions: inside `[...]`, `(?=` or `\\1` are not constructs."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if c == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1  # a leading `]` is a literal
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            out.append("[]")
            i = j + 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def re2_problem(pattern: str) -> str | None:
    """None if Envoy's RE2 will accept `pattern`, else a short reason."""
    if not pattern:
        return "empty regular expression"
    if len(pattern) > _MAX_LENGTH:
        return f"regular expression longer than {_MAX_LENGTH} characters"
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as err:
        return f"invalid regular expression: {err}"
    bare = _strip_classes(_strip_escaped_backslashes(pattern))
    for construct, reason in _UNSUPPORTED:
        if construct.search(bare):
            return reason
    for m in _REPEAT.finditer(bare):
        if any(g and int(g) > _MAX_REPEAT for g in m.groups()):
            return f"repetition count above {_MAX_REPEAT} is not supported by RE2"
    return None
