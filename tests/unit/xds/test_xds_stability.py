"""Names and bytes are stable: unrelated changes never touch a resource."""

from __future__ import annotations

import dataclasses

from hatchway import ir, xds

from .ir_samples import GW, http_ir, route, section, vhost


def test_adding_a_route_changes_only_its_route_configuration() -> None:
    before = xds.build(http_ir(vhost("a.com", route("a")), clusters=("echo", "other")))
    after = xds.build(
        http_ir(
            vhost("a.com", route("a"), route("new", "/new", "default/other:8080")),
            vhost("b.com", route("b")),
            clusters=("echo", "other"),
        )
    )
    changed = {k for k in after.versions if before.versions.get(k) != after.versions[k]}
    assert changed == {(xds.ROUTE, "http/0.0.0.0/80")}
    # the listener does not embed routes (RDS), so it is not drained
    assert list(after.listeners) == list(before.listeners)


def test_names_come_from_identity_not_position() -> None:
    def listener(port: int) -> ir.Listener:
        chain = ir.FilterChain(
            "http", section("http"), virtual_hosts=(vhost("*", route(f"r{port}")),)
        )
        return ir.Listener(f"x{port}", "0.0.0.0", port, ir.Protocol.HTTP, (chain,), (GW,))

    base = http_ir(vhost("*", route("r")))
    one = xds.build(dataclasses.replace(base, listeners=(listener(81),)))
    two = xds.build(dataclasses.replace(base, listeners=(listener(80), listener(81))))
    key = (xds.LISTENER, "http/0.0.0.0/81")
    assert one.versions[key] == two.versions[key]
    assert (
        one.versions[(xds.ROUTE, "http/0.0.0.0/81")] == two.versions[(xds.ROUTE, "http/0.0.0.0/81")]
    )


def test_rotated_certificate_changes_only_the_secret() -> None:
    def config(pem: str) -> ir.IR:
        cert = ir.TLSCertificate("default/cert", pem, "KEY")
        chain = ir.FilterChain(
            "https",
            section("https"),
            server_names=("a.com",),
            tls=ir.TLSTermination((cert,)),
            virtual_hosts=(vhost("a.com", route("a")),),
        )
        lis = ir.Listener("https", "0.0.0.0", 443, ir.Protocol.HTTPS, (chain,), (GW,))
        return ir.IR(listeners=(lis,))

    before, after = xds.build(config("OLD")), xds.build(config("NEW"))
    changed = {k for k in after.versions if before.versions.get(k) != after.versions[k]}
    assert changed == {(xds.SECRET, "cert/default/cert")}


def test_versions_are_content_hashes_and_type_versions_follow() -> None:
    res = xds.build(http_ir(vhost("*", route("a"))))
    for key, data in res.serialized.items():
        assert res.versions[key] == xds.version_of(data)
    other = xds.build(http_ir(vhost("*", route("a", "/changed"))))
    assert res.type_version(xds.ROUTE) != other.type_version(xds.ROUTE)
    assert res.type_version(xds.CLUSTER) == other.type_version(xds.CLUSTER)


def test_origins_map_resources_back_to_gateway_api_objects() -> None:
    res = xds.build(http_ir(vhost("*", route("a"))))
    a = ir.Origin("HTTPRoute", "default", "a", rule=0, match=0)
    assert a in res.origins[(xds.ROUTE, "http/0.0.0.0/80")]
    assert res.origins[(xds.CLUSTER, "default/echo:8080")] == (
        ir.Origin("Service", "default", "echo"),
        a,
    )
    assert GW in res.origins[(xds.LISTENER, "http/0.0.0.0/80")]
