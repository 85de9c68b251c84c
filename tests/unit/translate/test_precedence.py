from __future__ import annotations

from hatchway.ir import HeaderMatch, Match, PathMatch, PathMatchType, QueryMatch
from hatchway.translate.precedence import grpc_match_key, http_match_key


def _m(
    path: str = "/",
    kind: PathMatchType = PathMatchType.PREFIX,
    method: str | None = None,
    headers: int = 0,
    query: int = 0,
) -> Match:
    return Match(
        path=PathMatch(kind, path),
        method=method,
        headers=tuple(HeaderMatch(f"h{i}", "v") for i in range(headers)),
        query=tuple(QueryMatch(f"q{i}", "v") for i in range(query)),
    )


def test_exact_beats_any_prefix() -> None:
    assert http_match_key(_m("/a", PathMatchType.EXACT)) < http_match_key(_m("/a/very/long"))


def test_regex_sits_between_exact_and_prefix() -> None:
    regex = http_match_key(_m("/a.*", PathMatchType.REGEX))
    assert http_match_key(_m("/a", PathMatchType.EXACT)) < regex < http_match_key(_m("/abcdef"))


def test_longer_prefix_wins() -> None:
    assert http_match_key(_m("/path5")) < http_match_key(_m("/", method="PATCH"))


def test_method_beats_headers_and_headers_beat_query() -> None:
    assert http_match_key(_m(method="PATCH")) < http_match_key(_m(headers=1))
    assert http_match_key(_m(headers=1)) < http_match_key(_m(query=1))
    assert http_match_key(_m(headers=2)) < http_match_key(_m(headers=1))


def test_grpc_service_then_method_then_headers() -> None:
    assert grpc_match_key("a.Longer", None, 0) < grpc_match_key("a.B", "LongMethod", 5)
    assert grpc_match_key("a.B", "Method", 0) < grpc_match_key("a.B", None, 5)
    assert grpc_match_key("a.B", "M", 2) < grpc_match_key("a.B", "M", 1)
