"""Wire framing (`xds.wire`) gives the bytes protobuf's own serialization gives."""

from __future__ import annotations

from envoy.config.route.v3 import route_components_pb2, route_pb2
from google.protobuf import wrappers_pb2

from hatchway.xds import wire


def test_varint_matches_protobuf_for_every_length_class() -> None:
    for n in (1, 127, 128, 300, 16_383, 16_384, 2**21, 2**35, 2**63):
        # UInt64Value: field 1 as a varint, so its serialization is the key 0x08 and then n.
        assert wrappers_pb2.UInt64Value(value=n).SerializeToString() == b"\x08" + wire.varint(n)
    assert wire.varint(0) == b"\x00"


def test_spliced_fields_equal_serializing_the_whole_message() -> None:
    routes = []
    for i in range(3):
        r = route_components_pb2.Route(name=f"r{i}")
        r.match.prefix = f"/p{i}" * (60 if i == 1 else 1)  # one route over 127 bytes
        routes.append(r)
    whole = route_components_pb2.VirtualHost(name="vh", domains=["a.example"], routes=routes)
    head = route_components_pb2.VirtualHost(name="vh", domains=["a.example"])
    number = wire.field_number(route_components_pb2.VirtualHost, "routes")
    pieces = [head.SerializeToString(deterministic=True)]
    for r in routes:
        pieces += wire.framed(number, r.SerializeToString(deterministic=True))
    assert b"".join(pieces) == whole.SerializeToString(deterministic=True)

    config = route_pb2.RouteConfiguration(name="rc", virtual_hosts=[whole])
    vhosts = wire.field_number(route_pb2.RouteConfiguration, "virtual_hosts")
    spliced = b"".join(
        [
            route_pb2.RouteConfiguration(name="rc").SerializeToString(deterministic=True),
            *wire.field(vhosts, *pieces),
        ]
    )
    assert spliced == config.SerializeToString(deterministic=True)
