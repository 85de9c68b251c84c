"""Sort keys for HTTPRoute (spec §4.2) and GRPCRoute (§5) rule-match precedence.

Keys sort ascending: the first element of a sorted list wins. The full order of IR routes in
a virtual host is `RouteOrderKey`: hostname specificity (of the effective hostname, then of
the route's own hostname: v1.7, feature GatewayRouteHostnameIntersectionPrecedence), then
the per-match key, then route age, `namespace/name`, rule index and match index.
"""

from __future__ import annotations

from datetime import datetime

from hatchway.ir import Match, PathMatchType

# Exact beats everything; RegularExpression between Exact and PathPrefix is our
# implementation-specific choice (Envoy Gateway, Contour and NGINX do the same).
_PATH_TYPE_RANK = {
    PathMatchType.EXACT: 0,
    PathMatchType.REGEX: 1,
    PathMatchType.PREFIX: 2,
}

MatchKey = tuple[int, int, int, int, int]


def http_match_key(match: Match) -> MatchKey:
    """§4.2 steps 2-6: Exact path, longest path, has method, most headers, most query params."""
    return (
        _PATH_TYPE_RANK[match.path.type],
        -len(match.path.value),
        0 if match.method else 1,
        -len(match.headers),
        -len(match.query),
    )


def grpc_match_key(
    service: str | None, method: str | None, headers: int, regex: bool = False
) -> MatchKey:
    """§5: most characters in service, then in method, then most header matches.

    A RegularExpression match ranks after every Exact one and before a match without service
    and method (implementation-specific, as for HTTPRoute paths): counting a pattern's
    characters would let `echo\\.v[0-9]+\\.Echo` beat the Exact `echo.v1.Echo` it generalises.
    """
    tier = 2 if service is None and method is None else 1 if regex else 0
    return (tier, -len(service or ""), -len(method or ""), -headers, 0)


# Complete, total precedence order of one rule match within a virtual host, ascending:
# `route_hostname_rank` of the effective hostname (2 ints); then of the route hostname it came
# from (routes whose hostnames intersect a listener's to the same one are ranked by what they
# asked for: `*.example.com` narrowed to `abc.example.com` loses to `abc.example.com`), before
# their `MatchKey`s (5 ints) are compared; then age, namespace, name, rule and match index.
# One flat tuple: sorting tens of thousands of routes compares in C and never descends into
# nested tuples (which doubled the cost of a comparison).
RouteOrderKey = tuple[int, int, int, int, int, int, int, int, int, datetime, str, str, int, int]
