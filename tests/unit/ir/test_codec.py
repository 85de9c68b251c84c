"""The IR codec round-trips every IR shape and omits defaults."""

from __future__ import annotations

from hatchway import ir
from hatchway.ir import codec


def sample() -> ir.IR:
    gw = ir.Origin("Gateway", "default", "gw", section="http")
    route = ir.Route(
        name="r",
        origin=ir.Origin("HTTPRoute", "default", "a", rule=0, match=0),
        match=ir.Match(
            path=ir.PathMatch(ir.PathMatchType.PREFIX, "/"),
            headers=(ir.HeaderMatch("x", "y"),),
            query=(ir.QueryMatch("q", "1", regex=True),),
        ),
        action=ir.Redirect(status_code=301, port=8080),
        request_headers=ir.HeaderModifier(set=(("a", "b"),), remove=("c",)),
    )
    forward = ir.Route(
        name="f",
        origin=ir.Origin("HTTPRoute", "default", "b", rule=1, match=0),
        match=ir.Match(path=ir.PathMatch(ir.PathMatchType.EXACT, "/x")),
        action=ir.Forward(backends=(ir.WeightedBackend("default/echo:80", 3),)),
        mirrors=(ir.Mirror("default/echo:80", 1, 2),),
    )
    vh = ir.VirtualHost(name="v", domain="*", listener=gw, routes=(route, forward))
    chain = ir.FilterChain(name="c", listener=gw, virtual_hosts=(vh,))
    listener = ir.Listener("l", "0.0.0.0", 80, ir.Protocol.HTTP, (chain,), (gw,))
    cluster = ir.Cluster(
        name="default/echo:80",
        service=ir.Origin("Service", "default", "echo"),
        port=80,
        protocol=ir.AppProtocol.H2C,
        endpoints=(ir.Endpoint("127.0.0.1", 9000),),
    )
    return ir.IR(listeners=(listener,), clusters=(cluster,))


def test_round_trip() -> None:
    value = sample()
    assert codec.from_dict(ir.IR, codec.to_dict(value)) == value


def test_defaults_omitted_and_unions_tagged() -> None:
    data = codec.to_dict(sample())
    route = data["listeners"][0]["chains"][0]["virtual_hosts"][0]["routes"][0]
    assert route["action"] == {"variant": "Redirect", "status_code": 301, "port": 8080}
    assert "grpc" not in route
    assert "tls" not in data["listeners"][0]["chains"][0]


def test_unknown_field_rejected() -> None:
    data = codec.to_dict(sample())
    data["listeners"][0]["bogus"] = 1
    try:
        codec.from_dict(ir.IR, data)
    except ValueError as e:
        assert "bogus" in str(e)
    else:
        raise AssertionError("unknown field accepted")
