from __future__ import annotations

import pytest

from hatchway.translate.hostnames import (
    covers,
    effective_hostnames,
    intersect,
    is_valid_hostname,
    listener_rank,
    matches,
    overlaps,
    route_hostname_rank,
)


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "aexample.com", False),
        ("foo.com", "foo.com", True),
        ("foo.com", "bar.foo.com", False),
        ("*", "anything.at.all", True),
    ],
)
def test_matches(pattern: str, host: str, expected: bool) -> None:
    assert matches(pattern, host) is expected


def test_covers_wildcards_nest() -> None:
    assert covers("*.example.com", "*.foo.example.com")
    assert not covers("*.foo.example.com", "*.example.com")
    assert covers("*", "*.example.com")
    assert not covers("*.example.com", "*")
    assert not covers("*.example.com", "*.xexample.com")


def test_intersection_narrows_to_the_more_specific_side() -> None:
    assert intersect("*.example.com", "foo.example.com") == "foo.example.com"
    assert intersect("foo.example.com", "*.example.com") == "foo.example.com"
    assert intersect("*.foo.example.com", "*.example.com") == "*.foo.example.com"
    assert intersect("*.example.com", "example.com") is None
    assert intersect("a.com", "b.com") is None


def test_effective_hostnames_per_spec_section_3_3() -> None:
    assert effective_hostnames(None, []) == ("*",)
    assert effective_hostnames("foo.com", []) == ("foo.com",)
    assert effective_hostnames(None, ["a.com", "b.com", "a.com"]) == ("a.com", "b.com")
    assert effective_hostnames("*.example.com", ["a.example.com", "other.org", "*.com"]) == (
        "a.example.com",
        "*.example.com",
    )
    assert effective_hostnames("foo.com", ["bar.com"]) == ()


def test_listener_rank_most_specific_first() -> None:
    names = [None, "*.example.com", "foo.example.com", "*.foo.example.com"]
    ranked = sorted(names, key=listener_rank)
    assert ranked == ["foo.example.com", "*.foo.example.com", "*.example.com", None]


def test_route_hostname_rank_prefers_longest_exact_then_longest() -> None:
    hosts = ["*", "*.example.com", "a.example.com", "*.very.long.example.com"]
    assert sorted(hosts, key=route_hostname_rank) == [
        "a.example.com",
        "*.very.long.example.com",
        "*.example.com",
        "*",
    ]


def test_overlaps_treats_none_as_any() -> None:
    assert overlaps(None, "a.com")
    assert overlaps("*.example.com", "foo.example.com")
    assert not overlaps("a.com", "b.com")


def test_valid_hostname_rejects_ips_and_upper_case() -> None:
    assert is_valid_hostname("*.example.com")
    assert not is_valid_hostname("1.2.3.4")
    assert not is_valid_hostname("Foo.com")
    assert not is_valid_hostname("a.*.com")
