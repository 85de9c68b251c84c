"""Small IR builders shared by the xds unit tests."""

from __future__ import annotations

from hatchway import ir

GW = ir.Origin("Gateway", "default", "gw")


def section(name: str) -> ir.Origin:
    return ir.Origin("Gateway", "default", "gw", section=name)


def route(name: str, path: str = "/", cluster: str | None = "default/echo:8080") -> ir.Route:
    return ir.Route(
        name=name,
        origin=ir.Origin("HTTPRoute", "default", name, rule=0, match=0),
        match=ir.Match(ir.PathMatch(ir.PathMatchType.PREFIX, path)),
        action=ir.Forward((ir.WeightedBackend(cluster, 1),)),
    )


def vhost(domain: str, *routes: ir.Route, name: str | None = None) -> ir.VirtualHost:
    return ir.VirtualHost(name or f"http/{domain}", domain, section("http"), tuple(routes))


def http_ir(*vhosts: ir.VirtualHost, clusters: tuple[str, ...] = ("echo",)) -> ir.IR:
    chain = ir.FilterChain("http", section("http"), virtual_hosts=tuple(vhosts))
    lis = ir.Listener("http/0.0.0.0/80", "0.0.0.0", 80, ir.Protocol.HTTP, (chain,), (GW,))
    return ir.IR(
        listeners=(lis,),
        clusters=tuple(
            ir.Cluster(
                f"default/{c}:8080",
                ir.Origin("Service", "default", c),
                8080,
                endpoints=(ir.Endpoint("10.0.0.1", 8080),),
            )
            for c in clusters
        ),
    )
