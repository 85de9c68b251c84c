"""Sound detection of rule matches that can never win (reported as warnings, not conditions).

Match B is shadowed by an earlier (higher-precedence) match A on the same virtual host when
every request B matches is also matched by A: A's path covers B's path and each of A's extra
conditions (method, headers, query) appears identically in B. Anything not provable (regexes
other than identical ones) is never reported.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

from hatchway.ir import Match, PathMatchType, Route

# Candidate winners examined per (path) bucket; keeps detection linear on huge inputs. Missing
# a warning is acceptable, a wrong one is not.
_BUCKET_LIMIT = 8


def _norm_prefix(value: str) -> str:
    """PathPrefix matching ignores a trailing `/` (except for the root)."""
    return value.rstrip("/") or "/"


def _prefix_ancestors(path: str) -> list[str]:
    """Element-wise prefixes of `path` that a PathPrefix match would cover it with."""
    norm = _norm_prefix(path)
    out = ["/"]
    if norm == "/":
        return out
    parts = norm.split("/")[1:]
    acc = ""
    for part in parts:
        acc += "/" + part
        out.append(acc)
    return out


def _conditions_implied(a: Match, b: Match) -> bool:
    """Whether B's non-path conditions include all of A's (so B matching implies A's hold)."""
    if a.method is not None and a.method != b.method:
        return False
    return set(a.headers) <= set(b.headers) and set(a.query) <= set(b.query)


def _path_covers(a: Match, b: Match) -> bool:
    pa, pb = a.path, b.path
    if pa.type is PathMatchType.PREFIX:
        na = _norm_prefix(pa.value)
        if na == "/":
            return True
        return pb.type is not PathMatchType.REGEX and na in _prefix_ancestors(pb.value)
    return pa.type is pb.type and pa.value == pb.value


def _same_rule(a: Route, b: Route) -> bool:
    oa, ob = a.origin, b.origin
    return (oa.kind, oa.namespace, oa.name, oa.rule) == (ob.kind, ob.namespace, ob.name, ob.rule)


Bucket = tuple[PathMatchType, str]  # a route's own bucket: its (normalized) path
# Routes are ordered by a sort key: a precedence key in a virtual host, a position in a list.
Key = Any
_first = itemgetter(0)
_ROOT: Bucket = (PathMatchType.PREFIX, "/")


def _own_bucket(m: Match) -> Bucket:
    return _buckets(m.path.type, m.path.value)[0]


def _searched(m: Match) -> tuple[Bucket, ...]:
    """The buckets whose routes could shadow a route with match `m` (the root first)."""
    return _buckets(m.path.type, m.path.value)[1]


@lru_cache(maxsize=1 << 16)
def _buckets(kind: PathMatchType, value: str) -> tuple[Bucket, tuple[Bucket, ...]]:
    """(own bucket, searched buckets) of a path: routes share paths, and every full
    translation files all of them again."""
    if kind is PathMatchType.REGEX:
        return (kind, value), (_ROOT, (kind, value))
    # The root's bucket, then each longer element-wise prefix: the PathPrefix matches that
    # can cover this path.
    searched = [(PathMatchType.PREFIX, a) for a in _prefix_ancestors(value)]
    if kind is PathMatchType.PREFIX:
        return (kind, _norm_prefix(value)), tuple(searched)
    searched.append((kind, value))
    return (kind, value), tuple(searched)


class ShadowIndex:
    """Shadowed matches of one ordered list of routes, kept up to date as routes are
    inserted and removed (a change costs the routes it can affect, not the whole list).

    Each route's candidate winners are the first `_BUCKET_LIMIT` routes (in order) of each
    bucket it searches that come before it; its verdict is the first candidate that covers
    it. Inserting or removing a route changes other verdicts only if it enters or leaves
    the first `_BUCKET_LIMIT` of its bucket, and then only those of routes searching that
    bucket; the root bucket, which every route searches, sets `stale` instead (the caller
    builds the index anew).
    """

    def __init__(self) -> None:
        self.members: dict[Bucket, list[tuple[Key, Route]]] = {}  # sorted by key
        # By each route's sort key (unique in a virtual host: it ends with the route's name,
        # rule and match index), never by the Python object.
        self.searchers: dict[Bucket, dict[Key, tuple[Key, Route]]] = {}  # but the root's
        self.verdicts: dict[Key, tuple[Route, Route]] = {}  # loser's key -> (loser, winner)
        self.stale = False
        self._searchers_built = True

    def _searchers(self) -> dict[Bucket, dict[Key, tuple[Key, Route]]]:
        if not self._searchers_built:
            for members in self.members.values():
                for key, route in members:
                    for b in _searched(route.match)[1:]:
                        self.searchers.setdefault(b, {})[key] = (key, route)
            self._searchers_built = True
        return self.searchers

    @classmethod
    def build(cls, keys: Sequence[Key], routes: Sequence[Route]) -> ShadowIndex:
        """The index of `routes`, in order, whose sort keys are `keys` (ascending)."""
        index = cls()
        members = index.members
        for key, route in zip(keys, routes, strict=True):
            path = route.match.path
            own, searched = _buckets(path.type, path.value)
            # Every member filed so far comes earlier: the first of each bucket are candidates.
            candidates: list[tuple[Key, Route]] = []
            for b in searched:
                found = members.get(b)
                if found:
                    candidates += found[:_BUCKET_LIMIT]
            if candidates:  # most routes have none: nothing can shadow them
                index._verdict(key, route, candidates)
            members.setdefault(own, []).append((key, route))
        index._searchers_built = False  # filled on the first change (full builds never need it)
        return index

    def pairs(self) -> list[tuple[Route, Route]]:
        return list(self.verdicts.values())

    def insert(self, key: Key, route: Route) -> None:
        if self._add(key, route):
            self._rejudge(_own_bucket(route.match), key)
        self._judge(key, route)

    def remove(self, key: Key, route: Route) -> None:
        searchers = self._searchers()  # before `route` leaves the members it is built from
        bucket = _own_bucket(route.match)
        members = self.members[bucket]
        i = bisect_left(members, key, key=_first)
        if i >= len(members) or members[i][0] != key:
            raise LookupError(f"{route.name} is not in its shadowing bucket")
        del members[i]
        for b in _searched(route.match)[1:]:
            del searchers[b][key]
        self.verdicts.pop(key, None)
        if i < _BUCKET_LIMIT:
            self._rejudge(bucket, key)

    def _add(self, key: Key, route: Route) -> bool:
        """Files `route`; whether it entered the first of its bucket (others may change)."""
        searchers = self._searchers()
        members = self.members.setdefault(_own_bucket(route.match), [])
        i = bisect_left(members, key, key=_first)
        members.insert(i, (key, route))
        for b in _searched(route.match)[1:]:
            searchers.setdefault(b, {})[key] = (key, route)
        return i < _BUCKET_LIMIT

    def _rejudge(self, bucket: Bucket, after: Key) -> None:
        """The first routes of `bucket` changed: judge again every later route searching it."""
        if bucket == _ROOT:
            self.stale = True
            return
        for key, route in list(self._searchers().get(bucket, {}).values()):
            if key > after:
                self._judge(key, route)

    def _judge(self, key: Key, route: Route) -> None:
        candidates: list[tuple[Key, Route]] = []
        for b in _searched(route.match):
            for entry in self.members.get(b, ())[:_BUCKET_LIMIT]:
                if entry[0] < key:
                    candidates.append(entry)
        self._verdict(key, route, candidates)

    def _verdict(self, key: Key, route: Route, candidates: list[tuple[Key, Route]]) -> None:
        """`route`'s verdict: the first of `candidates` (earlier routes) that covers it."""
        if len(candidates) > 1:
            candidates.sort(key=_first)
        self.verdicts.pop(key, None)
        m = route.match
        for _, winner in candidates:
            if (
                not _same_rule(winner, route)
                and _path_covers(winner.match, m)
                and _conditions_implied(winner.match, m)
            ):
                self.verdicts[key] = (route, winner)
                return


def find_shadowed(routes: Sequence[Route]) -> list[tuple[Route, Route]]:
    """`(loser, winner)` pairs for routes (in precedence order) that can never be selected.

    Matches of one rule shadowing each other lose nothing (same action) and are not reported.
    """
    return ShadowIndex.build(range(len(routes)), routes).pairs()
