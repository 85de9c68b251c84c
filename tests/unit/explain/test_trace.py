"""explain walks the IR the way Envoy does: domain specificity, then first matching route."""

from __future__ import annotations

import pytest

from hatchway import ir
from hatchway.explain import Request, explain
from hatchway.explain.request import normalize_path
from hatchway.explain.trace import path_prefix_matches
from hatchway.status.report import StatusReport

GW_ALL = ir.Origin("Gateway", "default", "gw", section="all")
GW_FOO = ir.Origin("Gateway", "default", "gw", section="foo")


def route(name: str, path: ir.PathMatch, **match: object) -> ir.Route:
    return ir.Route(
        name=name,
        origin=ir.Origin("HTTPRoute", "default", name, rule=0, match=0),
        match=ir.Match(path=path, **match),  # type: ignore[arg-type]
        action=ir.Forward(backends=(ir.WeightedBackend(f"default/{name}:80", 1),)),
    )


def model() -> ir.IR:
    prefix = ir.PathMatchType.PREFIX
    any_vh = ir.VirtualHost("any", "*", GW_ALL, (route("catchall", ir.PathMatch(prefix, "/")),))
    wild = ir.VirtualHost(
        "wild",
        "*.example.com",
        GW_FOO,
        (
            route("exact", ir.PathMatch(ir.PathMatchType.EXACT, "/api")),
            route(
                "hdr",
                ir.PathMatch(prefix, "/api"),
                headers=(ir.HeaderMatch("x-env", "prod"),),
            ),
            route("api", ir.PathMatch(prefix, "/api")),
            route("api2", ir.PathMatch(prefix, "/api")),
        ),
    )
    chain = ir.FilterChain("c", GW_ALL, virtual_hosts=(any_vh, wild))
    listener = ir.Listener("l", "0.0.0.0", 80, ir.Protocol.HTTP, (chain,), (GW_ALL,))
    return ir.IR(listeners=(listener,))


def run(url: str, method: str = "GET", headers: tuple[tuple[str, str], ...] = ()) -> object:
    return explain(model(), StatusReport(), Request.from_url(url, method, headers))


def test_most_specific_domain_wins_and_isolates() -> None:
    t = explain(model(), StatusReport(), Request.from_url("http://a.example.com/other"))
    assert t.virtual_host is not None and t.virtual_host.domain == "*.example.com"
    assert t.route is None and t.outcome.startswith("404")
    reasons = {c.origin.name: c.reason for c in t.candidates}
    assert reasons["catchall"].startswith("hostname")
    assert reasons["api"].startswith("path")


def test_first_matching_route_wins_and_later_ones_lose_on_precedence() -> None:
    t = explain(
        model(),
        StatusReport(),
        Request.from_url("http://a.example.com/api/x", headers=(("X-Env", "prod"),)),
    )
    assert t.route is not None and t.route.origin.name == "hdr"
    reasons = {c.origin.name: c.reason for c in t.candidates}
    assert reasons["exact"].startswith("path")
    assert reasons["api"] == "precedence: HTTPRoute/default/hdr rule 0 match 0 wins"


def test_header_reason() -> None:
    t = explain(model(), StatusReport(), Request.from_url("http://a.example.com/api/x"))
    assert t.route is not None and t.route.origin.name == "api"
    reasons = {c.origin.name: c.reason for c in t.candidates}
    assert reasons["hdr"] == "header: x-env missing"


def test_host_header_and_port_in_host() -> None:
    req = Request.from_url("http://127.0.0.1/api", headers=(("Host", "b.example.com:8080"),))
    assert req.host == "b.example.com"
    t = explain(model(), StatusReport(), req)
    assert t.route is not None and t.route.origin.name == "exact"


def test_no_listener_on_port() -> None:
    t = explain(model(), StatusReport(), Request.from_url("http://x:9999/"))
    assert t.outcome.startswith("connection refused")


@pytest.mark.parametrize(
    ("prefix", "path", "ok"),
    [
        ("/abc", "/abc", True),
        ("/abc", "/abc/", True),
        ("/abc", "/abc/def", True),
        ("/abc", "/abcd", False),
        ("/abc/", "/abc", True),
        ("/", "/anything", True),
        ("/v2", "/v2example", False),
    ],
)
def test_path_prefix_is_element_wise(prefix: str, path: str, ok: bool) -> None:
    assert path_prefix_matches(prefix, path) is ok


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("/public/../admin", "/admin"),
        ("//a///b", "/a/b"),
        ("/a/./b/", "/a/b/"),
        ("/../..", "/"),
    ],
)
def test_paths_normalised_like_envoy(raw: str, norm: str) -> None:
    assert normalize_path(raw) == norm


def test_external_auth_is_named_in_the_outcome() -> None:
    """explain cannot know what an authorization service answers: it says the outcome
    depends on the listener's pre-routing services and the route's own."""
    import dataclasses

    auth = ir.ExternalAuth("HTTP", "default/auth:80", pre_routing=True)
    base = model()
    chain = base.listeners[0].chains[0]
    assert chain.virtual_hosts is not None
    any_vh, wild = chain.virtual_hosts
    checked = dataclasses.replace(
        wild,
        external_auth=(auth,),
        routes=(
            dataclasses.replace(
                wild.routes[2], external_auth=dataclasses.replace(auth, pre_routing=False)
            ),
        ),
    )
    listener = dataclasses.replace(
        base.listeners[0], chains=(dataclasses.replace(chain, virtual_hosts=(any_vh, checked)),)
    )
    m = ir.IR(listeners=(listener,))
    t = explain(m, StatusReport(), Request.from_url("http://a.example.com/api/x"))
    assert t.outcome == "forwarded, if 2 ExternalAuth service(s) allow it (else their answer)"
    t = explain(m, StatusReport(), Request.from_url("http://a.example.com/other"))
    assert t.outcome.startswith("404") and "1 ExternalAuth service(s)" in t.outcome
    plain = explain(m, StatusReport(), Request.from_url("http://other.test/"))
    assert plain.outcome == "forwarded"
