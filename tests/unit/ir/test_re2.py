from __future__ import annotations

import pytest

from hatchway.ir.re2 import re2_problem


@pytest.mark.parametrize(
    "pattern",
    [r"/foo/[a-z]+", r"^/v\d+/.*$", r"(?P<x>a)b", r"[(?=]", r"\\1", r"a{2,1000}", r"(?i)abc"],
)
def test_re2_compatible(pattern: str) -> None:
    assert re2_problem(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "backreferences"),
        (r"(?P<x>a)(?P=x)", "backreferences"),
        (r"foo(?=bar)", "lookahead"),
        (r"(?<!x)y", "lookbehind"),
        (r"(?>a)", "atomic"),
        (r"a++", "possessive"),
        (r"a{1001}", "repetition"),
        (r"(", "invalid"),
        (r"", "empty"),
        (r"abc\Z", r"\Z"),
    ],
)
def test_re2_incompatible(pattern: str, reason: str) -> None:
    problem = re2_problem(pattern)
    assert problem is not None
    assert reason in problem
