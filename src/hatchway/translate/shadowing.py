"""Sound detection of rule matches that can never win (reported as warnings, not conditions).

Match B is shadowed by an earlier (higher-precedence) match A on the same virtual host when
every request B matches is also matched by A: A's path covers B's path and each of A's extra
conditions (method, headers, query) appears identically in B. Anything not provable (regexes
other than identical ones) is never reported.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def find_shadowed(routes: Sequence[Route]) -> list[tuple[Route, Route]]:
    """`(loser, winner)` pairs for routes (in precedence order) that can never be selected.

    Matches of one rule shadowing each other lose nothing (same action) and are not reported.
    """
    by_prefix: dict[str, list[int]] = {}
    by_exact: dict[tuple[PathMatchType, str], list[int]] = {}
    out: list[tuple[Route, Route]] = []
    for pos, route in enumerate(routes):
        m = route.match
        candidates: list[int] = list(by_prefix.get("/", ()))
        if m.path.type is not PathMatchType.REGEX:
            for anc in _prefix_ancestors(m.path.value)[1:]:
                candidates += by_prefix.get(anc, ())
        if m.path.type is not PathMatchType.PREFIX:
            candidates += by_exact.get((m.path.type, m.path.value), ())
        if len(candidates) > 1:
            candidates.sort()  # earliest (highest-precedence) winner first
        for cand in candidates:
            winner = routes[cand]
            if (
                not _same_rule(winner, route)
                and _path_covers(winner.match, m)
                and _conditions_implied(winner.match, m)
            ):
                out.append((route, winner))
                break
        if m.path.type is PathMatchType.PREFIX:
            bucket = by_prefix.setdefault(_norm_prefix(m.path.value), [])
        else:
            bucket = by_exact.setdefault((m.path.type, m.path.value), [])
        if len(bucket) < _BUCKET_LIMIT:
            bucket.append(pos)
    return out
