"""`vhosts.ir_routes`: every field a rule gives its IR routes lands in the field of that name.

The rule's shared fields are passed to `Route` by position (see `ir_routes`); a rule whose
fields all differ shows that none lands in a neighbour's place.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hatchway.ir import (
    CORS,
    DirectResponse,
    ExternalAuth,
    HeaderModifier,
    Match,
    Mirror,
    PathMatch,
    PathMatchType,
    PathModifier,
    PathModifierType,
    Retry,
    SessionPersistence,
    URLRewrite,
)
from hatchway.translate.attach import RouteCtx
from hatchway.translate.precedence import http_match_key
from hatchway.translate.rules import CompiledMatch, CompiledRoute, CompiledRule
from hatchway.translate.vhosts import ir_routes


def _rule() -> CompiledRule:
    matches = tuple(
        CompiledMatch(i, m, http_match_key(m))
        for i, m in enumerate(
            [
                Match(path=PathMatch(PathMatchType.PREFIX, "/a")),
                Match(path=PathMatch(PathMatchType.EXACT, "/b"), method="POST"),
            ]
        )
    )
    return CompiledRule(
        index=2,
        name="named",
        matches=matches,
        direct=DirectResponse(503, "down"),
        request_headers=HeaderModifier(set=(("x-req", "1"),)),
        response_headers=HeaderModifier(add=(("x-resp", "2"),)),
        rewrite=URLRewrite(hostname="h", path=PathModifier(PathModifierType.FULL, "/c")),
        mirrors=(Mirror("mirror-cluster", 1, 4),),
        cors=CORS(allow_origins=("https://a.example",)),
        request_timeout_ms=1500,
        backend_timeout_ms=700,
        retry=Retry(codes=(503,), attempts=3),
        session=SessionPersistence(type="Header", name="s"),
        external_auth=ExternalAuth("HTTP", "auth-cluster"),
        grpc=True,
    )


def test_each_rule_field_lands_in_its_own_route_field() -> None:
    rule = _rule()
    route = RouteCtx(
        kind="HTTPRoute",
        api_version="gateway.networking.k8s.io/v1",
        namespace="ns",
        name="r",
        generation=1,
        created=datetime(2026, 1, 1, tzinfo=UTC),
        hostnames=("a.example.com",),
        parent_refs=(),
        compiled=CompiledRoute(rules=[rule]),
    )
    built = ir_routes(route, rule, "a.example.com", 8080)
    assert len(built) == len(rule.matches)
    for (order, ir), cm in zip(built, rule.matches, strict=True):
        assert ir.name == f"HTTPRoute/ns/r/rule/2/match/{cm.index}"
        assert (ir.origin.rule, ir.origin.match, ir.origin.rule_name) == (2, cm.index, "named")
        assert ir.match is cm.match and order[4:9] == cm.key and order[-2:] == (2, cm.index)
        assert ir.action == DirectResponse(503, "down")
        assert ir.grpc is True
        assert ir.request_headers == rule.request_headers
        assert ir.response_headers == rule.response_headers
        assert ir.rewrite == rule.rewrite
        assert ir.mirrors == rule.mirrors
        assert ir.cors == rule.cors
        assert ir.request_timeout_ms == 1500 and ir.backend_timeout_ms == 700
        assert ir.retry == rule.retry
        assert ir.session_persistence == rule.session
        assert ir.external_auth == rule.external_auth
        assert ir.hostname == "a.example.com"
