from __future__ import annotations

import random

from hatchway.ir import (
    Forward,
    HeaderMatch,
    Match,
    Origin,
    PathMatch,
    PathMatchType,
    Route,
)
from hatchway.translate.shadowing import ShadowIndex, find_shadowed


def _route(name: str, match: Match, rule: int = 0) -> Route:
    origin = Origin("HTTPRoute", "default", name, rule=rule, match=0)
    return Route(name=name, origin=origin, match=match, action=Forward(()))


def _prefix(value: str, *headers: tuple[str, str]) -> Match:
    return Match(
        path=PathMatch(PathMatchType.PREFIX, value),
        headers=tuple(HeaderMatch(n, v) for n, v in headers),
    )


def test_prefix_covering_a_deeper_prefix_shadows_it_when_unconditional() -> None:
    # Precedence would normally put /a/b first; a conditionless / that is *ordered* first
    # (e.g. a more specific hostname) covers it.
    a = _route("root", _prefix("/"))
    b = _route("deep", _prefix("/a/b"))
    assert find_shadowed([a, b]) == [(b, a)]


def test_extra_condition_on_the_winner_prevents_shadowing() -> None:
    a = _route("hdr", _prefix("/a", ("x", "1")))
    b = _route("plain", _prefix("/a/b"))
    assert find_shadowed([a, b]) == []


def test_loser_with_superset_conditions_is_shadowed() -> None:
    a = _route("hdr", _prefix("/a", ("x", "1")))
    b = _route("more", _prefix("/a/b", ("x", "1"), ("y", "2")))
    assert find_shadowed([a, b]) == [(b, a)]


def test_prefix_is_element_wise() -> None:
    a = _route("a", _prefix("/foo"))
    b = _route("b", Match(path=PathMatch(PathMatchType.EXACT, "/foobar")))
    assert find_shadowed([a, b]) == []


def test_identical_exact_matches_in_two_routes() -> None:
    m = Match(path=PathMatch(PathMatchType.EXACT, "/x"))
    a, b = _route("a", m), _route("b", m)
    assert find_shadowed([a, b]) == [(b, a)]


def test_regex_only_shadowed_by_root_prefix_or_identical_regex() -> None:
    rx = Match(path=PathMatch(PathMatchType.REGEX, "/a.*"))
    assert find_shadowed([_route("p", _prefix("/a")), _route("r", rx)]) == []
    root, r = _route("root", _prefix("/")), _route("r", rx)
    assert find_shadowed([root, r]) == [(r, root)]


def test_same_rule_matches_are_not_reported() -> None:
    a = _route("a", _prefix("/"), rule=0)
    b = _route("a", _prefix("/x"), rule=0)
    assert find_shadowed([a, b]) == []


def _random_match(rng: random.Random) -> Match:
    path = rng.choice(["/", "/a", "/a/b", "/a/b/c", "/b", "/a/", "/ab"])
    kind = rng.choice([PathMatchType.PREFIX, PathMatchType.PREFIX, PathMatchType.EXACT])
    if rng.random() < 0.1:
        kind, path = PathMatchType.REGEX, "/a.*"
    headers = tuple(HeaderMatch(n, "1") for n in ("x", "y") if rng.random() < 0.3)
    return Match(path=PathMatch(kind, path), headers=headers)


def test_index_kept_up_to_date_equals_a_fresh_one() -> None:
    """Random inserts and removals (many routes per bucket, past the bucket limit): the
    index's verdicts always equal those of an index built from scratch."""
    rng = random.Random(7)
    index = ShadowIndex()
    live: dict[int, Route] = {}
    for step in range(600):
        if live and rng.random() < 0.4:
            key = rng.choice(sorted(live))
            index.remove(key, live.pop(key))
        else:
            key = rng.randrange(10_000)
            if key in live:
                continue
            live[key] = _route(f"r{key}", _random_match(rng), rule=key % 2)
            index.insert(key, live[key])
        if index.stale or step % 50 == 49:  # also: changes to an index built at once
            index = ShadowIndex.build(sorted(live), [live[k] for k in sorted(live)])
        fresh = find_shadowed([live[k] for k in sorted(live)])
        pairs = {(id(loser), id(winner)) for loser, winner in index.pairs()}
        assert pairs == {(id(loser), id(winner)) for loser, winner in fresh}, f"step {step}"
