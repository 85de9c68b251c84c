"""`xds.validate` finds what Envoy would NACK and names the Gateway API objects responsible."""

from __future__ import annotations

from hatchway import ir, xds
from hatchway.ir.re2 import re2_problem
from hatchway.xds.resources import ResourceSet

from .ir_samples import GW, http_ir, route, section, vhost


def test_clean_config_has_no_problems() -> None:
    assert xds.validate(xds.build(http_ir(vhost("*", route("a"))))) == []


def test_duplicate_domains_across_virtual_hosts() -> None:
    one = ir.VirtualHost("a/foo", "foo.com", section("a"), (route("ra"),))
    two = ir.VirtualHost("b/foo", "FOO.com", section("b"), (route("rb"),))
    problems = xds.validate(xds.build(http_ir(one, two)))
    assert [p.type_url for p in problems] == [xds.ROUTE]
    assert "FOO.com" in problems[0].message
    assert section("a") in problems[0].origins and section("b") in problems[0].origins


def test_duplicate_virtual_host_names() -> None:
    one = vhost("a.com", route("ra"), name="same")
    two = vhost("b.com", route("rb"), name="same")
    problems = xds.validate(xds.build(http_ir(one, two)))
    assert any("duplicate virtual host name" in p.message for p in problems)


def _https_chain(name: str, sni: tuple[str, ...]) -> ir.FilterChain:
    cert = ir.TLSCertificate(f"default/{name}", "PEM", "KEY")
    return ir.FilterChain(
        name,
        section(name),
        server_names=sni,
        tls=ir.TLSTermination((cert,)),
        virtual_hosts=(ir.VirtualHost(f"{name}/x", "x.com", section(name), ()),),
    )


def test_duplicate_filter_chain_match_names_both_listeners() -> None:
    chains = (_https_chain("a", ("x.com", "y.com")), _https_chain("b", ("Y.com",)))
    lis = ir.Listener("https", "0.0.0.0", 443, ir.Protocol.HTTPS, chains, (GW,))
    problems = xds.validate(xds.build(ir.IR(listeners=(lis,))))
    assert len(problems) == 1
    assert problems[0].type_url == xds.LISTENER
    assert set(problems[0].origins) == {section("a"), section("b")}


def test_two_catch_all_tcp_chains_collide() -> None:
    def chain(name: str) -> ir.FilterChain:
        l4 = ir.L4Route(ir.Origin("TCPRoute", "default", name), (ir.WeightedBackend(None, 1),))
        return ir.FilterChain(name, section(name), l4=l4)

    lis = ir.Listener("tcp", "0.0.0.0", 9000, ir.Protocol.TCP, (chain("a"), chain("b")), (GW,))
    problems = xds.validate(xds.build(ir.IR(listeners=(lis,))))
    assert ["same match" in p.message for p in problems] == [True]


def test_unknown_cluster_is_reported_on_the_route_but_invalid_share_is_not() -> None:
    config = http_ir(
        vhost("*", route("missing", "/m", "default/nope:80"), route("bad", "/b", None))
    )
    problems = xds.validate(xds.build(config))
    assert len(problems) == 1
    assert "default/nope:80" in problems[0].message
    assert problems[0].origins[0] == ir.Origin("HTTPRoute", "default", "missing", rule=0, match=0)


def test_re2_rejections_name_the_route() -> None:
    bad = ir.Route(
        name="lookahead",
        origin=ir.Origin("HTTPRoute", "default", "lookahead", rule=1, match=0),
        match=ir.Match(ir.PathMatch(ir.PathMatchType.REGEX, "/(?!admin).*")),
        action=ir.DirectResponse(200),
    )
    problems = xds.validate(xds.build(http_ir(vhost("*", bad))))
    assert len(problems) == 1
    assert "lookahead" in problems[0].message
    assert problems[0].origins[0].name == "lookahead"


def test_re2_checker() -> None:
    assert re2_problem("/v[0-9]+/.*") is None
    assert re2_problem("^(red|blue)$") is None
    assert re2_problem("[?=!]x") is None  # inside a class: literal characters
    assert re2_problem(r"\\1") is None  # escaped backslash then a digit
    assert re2_problem("(a)\\1") is not None
    assert re2_problem("(?<=x)y") is not None
    assert re2_problem("a++") is not None
    assert re2_problem("(unclosed") is not None
    assert re2_problem("*x") is not None


def test_listener_without_chains_is_reported() -> None:
    from envoy.config.listener.v3 import listener_pb2

    rs = ResourceSet()
    lis = listener_pb2.Listener()
    lis.name = "empty"
    rs.add(xds.LISTENER, "empty", lis, (GW,))
    problems = xds.validate(rs.freeze())
    assert [(p.resource, p.origins) for p in problems] == [("empty", (GW,))]


def test_listener_with_no_routes_still_builds_a_closing_chain() -> None:
    lis = ir.Listener("tcp", "0.0.0.0", 9000, ir.Protocol.TCP, (), (GW,))
    res = xds.build(ir.IR(listeners=(lis,)))
    assert xds.validate(res) == []
    built = res.listeners["tcp/0.0.0.0/9000"]
    assert built.HasField("default_filter_chain")
