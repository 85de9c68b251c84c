"""A route object as translation sees it: its compiled rules and its `RouteCtx`."""

from __future__ import annotations

from hatchway.ir import AppProtocol, WeightedBackend
from hatchway.model.routes import GRPCRoute, HTTPRoute, TCPRoute, TLSRoute, UDPRoute
from hatchway.translate.attach import RouteCtx
from hatchway.translate.backends import Backends
from hatchway.translate.rules import CompiledRoute, CompiledRule, compile_grpc, compile_http

AnyRoute = HTTPRoute | GRPCRoute | TLSRoute | TCPRoute | UDPRoute


def _compile_l4(route: TLSRoute | TCPRoute | UDPRoute, backends: Backends) -> CompiledRoute:
    out = CompiledRoute()
    forced = AppProtocol.UDP if isinstance(route, UDPRoute) else AppProtocol.TCP
    rule = route.spec.rules[0]
    weighted: list[WeightedBackend] = []
    for ref in rule.backend_refs:
        cluster, problem = backends.resolve(route.kind, route.metadata.namespace, ref, forced)
        if problem is not None:
            out.unresolved = out.unresolved or problem
        weighted.append(WeightedBackend(cluster, ref.weight, problem[1] if problem else None))
    out.rules.append(CompiledRule(0, rule.name, (), backends=tuple(weighted)))
    return out


def compile_route(route: AnyRoute, backends: Backends) -> CompiledRoute:
    if isinstance(route, HTTPRoute):
        return compile_http(route, backends)
    if isinstance(route, GRPCRoute):
        return compile_grpc(route, backends)
    return _compile_l4(route, backends)


def route_ctx(route: AnyRoute, compiled: CompiledRoute) -> RouteCtx:
    hostnames: tuple[str, ...] | list[str] = ()
    if isinstance(route, HTTPRoute | GRPCRoute | TLSRoute):
        hostnames = route.spec.hostnames
    meta = route.metadata
    return RouteCtx(
        kind=route.kind,
        api_version=route.api_version,
        namespace=meta.namespace,
        name=meta.name,
        generation=meta.generation,
        created=meta.creation_timestamp,
        hostnames=tuple(hostnames),
        parent_refs=route.spec.parent_refs,
        compiled=compiled,
    )
