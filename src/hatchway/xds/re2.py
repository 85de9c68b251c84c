"""A conservative check for regexes Envoy's RE2 would reject.

RE2 is not available in pure Python, so this flags only what is certainly invalid in RE2:
constructs it deliberately lacks (lookaround, backreferences, atomic groups, possessive
quantifiers) and syntax errors that RE2 and Python's `re` agree on. A pattern that passes may
still be rejected by Envoy (e.g. RE2 program-size limits); the NACK path reports those.
"""

from __future__ import annotations

import re
import warnings

_UNSUPPORTED = (
    (re.compile(r"\(\?[=!]"), "lookahead is not supported by RE2"),
    (re.compile(r"\(\?<[=!]"), "lookbehind is not supported by RE2"),
    (re.compile(r"\(\?>"), "atomic groups are not supported by RE2"),
    (re.compile(r"(?<!\\)(?:\\\\)*\\[1-9]"), "backreferences are not supported by RE2"),
    (re.compile(r"(?<!\\)(?:\\\\)*[*+?}]\+"), "possessive quantifiers are not supported by RE2"),
)
# Python error messages for mistakes that are errors in RE2 as well.
_SHARED_ERRORS = (
    "missing )",
    "unbalanced parenthesis",
    "nothing to repeat",
    "multiple repeat",
    "bad character range",
    "unterminated character set",
)


def re2_problem(pattern: str) -> str | None:
    """Why RE2 would reject `pattern`, or None if it looks acceptable."""
    body = _strip_classes(pattern)
    for rx, reason in _UNSUPPORTED:
        if rx.search(body):
            return reason
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            re.compile(pattern)
    except re.error as e:
        if any(s in e.msg for s in _SHARED_ERRORS):
            return f"invalid regular expression: {e.msg}"
    return None


def _strip_classes(pattern: str) -> str:
    """Blank out `[...]` bodies so `[?=]` or `[\\1]` are not mistaken for syntax."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            out.append("[]")
            i = j + 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)
