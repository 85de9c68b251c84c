"""Catch what Envoy would NACK before publishing, naming the Gateway API objects responsible.

A NACK rejects a whole resource (one bad route blocks a listener's every route), so the
runtime runs `validate` first and quarantines the objects named in each Problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from envoy.config.trace.v3 import opentelemetry_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2

from hatchway.ir import Origin
from hatchway.xds.names import INVALID_BACKEND_CLUSTER
from hatchway.xds.resources import CLUSTER, LISTENER, ROUTE, ConfigFacts, XdsResources
from hatchway.xds.routes import config_facts


@dataclass(frozen=True)
class Problem:
    type_url: str
    resource: str
    message: str
    origins: tuple[Origin, ...]


def validate(resources: XdsResources) -> list[Problem]:
    problems: list[Problem] = []
    for name in resources.routes:  # by name: a built configuration is not parsed
        facts = resources.config_facts.get(name)
        if facts is None:
            facts = config_facts(resources.routes[name])
        problems.extend(_check_route_config(resources, name, facts))
    for name, lis in resources.listeners.items():
        problems.extend(_check_listener(resources, name, lis))
    return problems


def _origins(res: XdsResources, type_url: str, name: str, *parts: str) -> tuple[Origin, ...]:
    found: list[Origin] = []
    for part in parts:
        for o in res.part_origins.get((type_url, name, part), ()):
            if o not in found:
                found.append(o)
    return tuple(found) or res.origins.get((type_url, name), ())


def _check_route_config(res: XdsResources, name: str, facts: ConfigFacts) -> Iterator[Problem]:
    def problem(message: str, *parts: str) -> Problem:
        return Problem(ROUTE, name, message, _origins(res, ROUTE, name, *parts))

    seen_names: set[str] = set()
    seen_domains: dict[str, str] = {}
    for vh_name, domains in facts.vhosts:
        if vh_name in seen_names:
            yield problem(f"duplicate virtual host name {vh_name!r}", vh_name)
        seen_names.add(vh_name)
        for domain in domains:
            key = domain.lower()
            if key in seen_domains:
                other = seen_domains[key]
                yield problem(
                    f"domain {domain!r} is in virtual hosts {other!r} and {vh_name!r}",
                    other,
                    vh_name,
                )
            else:
                seen_domains[key] = vh_name
    for f in facts.routes:
        for message in f.regex_problems:
            yield problem(message, f.part)
    known = res.names(CLUSTER)
    for f in facts.routes:
        for cluster in f.clusters:
            if cluster not in known and cluster != INVALID_BACKEND_CLUSTER:
                yield problem(f"route {f.name!r} refers to unknown cluster {cluster!r}", f.part)


def _check_listener(res: XdsResources, name: str, lis: Any) -> Iterator[Problem]:
    def problem(message: str, *parts: str) -> Problem:
        return Problem(LISTENER, name, message, _origins(res, LISTENER, name, *parts))

    udp = bool(lis.listener_filters) and any(
        f.name == "envoy.filters.udp_listener.udp_proxy" for f in lis.listener_filters
    )
    if not lis.filter_chains and not lis.HasField("default_filter_chain") and not udp:
        yield problem("listener has no filter chains")
    seen_chain_names: set[str] = set()
    seen_matches: dict[tuple[str, bytes], str] = {}
    for fc in lis.filter_chains:
        if fc.name in seen_chain_names:
            yield problem(f"duplicate filter chain name {fc.name!r}", fc.name)
        seen_chain_names.add(fc.name)
        rest = type(fc.filter_chain_match)()
        rest.CopyFrom(fc.filter_chain_match)
        del rest.server_names[:]
        rest_key = rest.SerializeToString(deterministic=True)
        for sni in fc.filter_chain_match.server_names or [""]:
            key = (sni.lower(), rest_key)
            if key in seen_matches:
                other = seen_matches[key]
                what = f"server name {sni!r}" if sni else "no server names"
                yield problem(
                    f"filter chains {other!r} and {fc.name!r} have the same match ({what})",
                    other,
                    fc.name,
                )
            else:
                seen_matches[key] = fc.name
        yield from _check_chain_refs(res, fc, lambda msg, c=fc.name: problem(msg, c))


def _tracing_cluster(h: Any) -> str | None:
    """The cluster an HCM's OpenTelemetry tracer exports to (Envoy refuses an unknown one)."""
    if not h.HasField("tracing") or not h.tracing.provider.typed_config.Is(
        opentelemetry_pb2.OpenTelemetryConfig.DESCRIPTOR
    ):
        return None
    otel = opentelemetry_pb2.OpenTelemetryConfig()
    h.tracing.provider.typed_config.Unpack(otel)
    name: str = otel.grpc_service.envoy_grpc.cluster_name
    return name or None


def _check_chain_refs(res: XdsResources, fc: Any, problem: Any) -> Iterator[Problem]:
    for f in fc.filters:
        if f.typed_config.Is(hcm_pb2.HttpConnectionManager.DESCRIPTOR):
            h = hcm_pb2.HttpConnectionManager()
            f.typed_config.Unpack(h)
            if h.HasField("rds") and h.rds.route_config_name not in res.routes:
                yield problem(f"unknown route configuration {h.rds.route_config_name!r}")
            collector = _tracing_cluster(h)
            if collector is not None and collector not in res.clusters:
                yield problem(f"tracing refers to unknown cluster {collector!r}")
        elif f.typed_config.Is(tcp_proxy_pb2.TcpProxy.DESCRIPTOR):
            t = tcp_proxy_pb2.TcpProxy()
            f.typed_config.Unpack(t)
            names = [t.cluster] if t.cluster else [c.name for c in t.weighted_clusters.clusters]
            for cluster in names:
                if cluster != INVALID_BACKEND_CLUSTER and cluster not in res.clusters:
                    yield problem(f"tcp_proxy refers to unknown cluster {cluster!r}")
    ts = fc.transport_socket
    if ts.typed_config.Is(tls_pb2.DownstreamTlsContext.DESCRIPTOR):
        ctx = tls_pb2.DownstreamTlsContext()
        ts.typed_config.Unpack(ctx)
        common = ctx.common_tls_context
        refs = [s.name for s in common.tls_certificate_sds_secret_configs]
        if common.HasField("validation_context_sds_secret_config"):
            refs.append(common.validation_context_sds_secret_config.name)
        for ref in refs:
            if ref not in res.secrets:
                yield problem(f"unknown secret {ref!r}")
        if not refs and not common.tls_certificates:
            yield problem("TLS filter chain without a certificate")
