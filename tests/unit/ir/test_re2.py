"""The RE2 check is RE2 itself (google-re2), with Envoy's program-size limit; e2e proof that
it measures exactly as Envoy does is in tests/unit/xds/test_xds_envoy_rejects.py."""

from __future__ import annotations

import pytest

from hatchway.ir.re2 import MAX_PROGRAM_SIZE, compiled, full_match, re2_problem


@pytest.mark.parametrize(
    "pattern",
    [
        r"/foo/[a-z]+",
        r"^/v\d+/.*$",
        r"(?P<x>a)b",
        r"[(?=]",
        r"\\1",
        r"a{2,1000}",
        r"(?i)abc",
        r"abc\z",  # RE2-only: Python's `re` refused it
        r"/(a{100}){10}",
    ],
)
def test_re2_compatible(pattern: str) -> None:
    assert re2_problem(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "invalid escape sequence"),
        (r"(?P<x>a)(?P=x)", "invalid perl operator"),
        (r"foo(?=bar)", "invalid perl operator: (?="),
        (r"(?<!x)y", "invalid perl operator: (?<!"),
        (r"(?>a)", "invalid perl operator"),
        (r"a++", "bad repetition operator"),
        (r"a{1001}", "invalid repetition size"),
        (r"/(a{1000}){1000}", "invalid repetition size"),  # nested: Python accepted it
        (r"(", "missing )"),
        (r"", "empty"),
        (r"abc\Z", r"invalid escape sequence: \Z"),
    ],
)
def test_re2_incompatible(pattern: str, reason: str) -> None:
    problem = re2_problem(pattern)
    assert problem is not None
    assert reason in problem


def test_program_size_over_envoys_limit_is_refused() -> None:
    fits = "/(a{100}){10}"
    assert compiled(fits).programsize <= MAX_PROGRAM_SIZE
    too_big = "/(a{100}){10}(b{100}){10}(c{100}){10}(d{100}){10}(e{100}){10}(f{100}){10}" * 2
    size = compiled(too_big).programsize
    assert size > MAX_PROGRAM_SIZE
    assert re2_problem(too_big) == (
        f"RE2 program size of {size} > max program size of {MAX_PROGRAM_SIZE}"
    )


def test_full_match_is_re2_linear_time_matching() -> None:
    # Catastrophic for a backtracking engine (Python's `re` took > 15 s), instant for RE2.
    assert not full_match(r"/(a+)+$", "/" + "a" * 5000 + "!")
    assert full_match(r"/(a+)+$", "/aaa")
    assert full_match(r"abc\z", "abc")
    assert not full_match(r"ab", "abc")  # whole value, as Envoy's safe_regex
    assert not full_match(r"(", "(")  # refused patterns never match
