"""IR Listener -> Envoy Listener: HTTP/HTTPS (HttpConnectionManager over RDS), TLS
passthrough/terminate and TCP (tcp_proxy), UDP (udp_proxy)."""

from __future__ import annotations

from typing import Any

from envoy.config.core.v3 import address_pb2, config_source_pb2, protocol_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.extensions.filters.listener.tls_inspector.v3 import tls_inspector_pb2
from envoy.extensions.filters.network.connection_limit.v3 import connection_limit_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2
from envoy.extensions.filters.udp.udp_proxy.v3 import route_pb2 as udp_route_pb2
from envoy.extensions.filters.udp.udp_proxy.v3 import udp_proxy_pb2
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2

from hatchway.ir import FilterChain, Listener, Origin, Protocol, WeightedBackend
from hatchway.xds import ext_authz, names
from hatchway.xds.hardening import Hardening
from hatchway.xds.http_filters import fill_http_filters
from hatchway.xds.resources import LISTENER, ResourceSet
from hatchway.xds.routes import build_route_config
from hatchway.xds.settings import XdsSettings
from hatchway.xds.telemetry import http_access_logs, l4_access_logs, udp_access_logs
from hatchway.xds.tracing import effective, fill_tracing
from hatchway.xds.udp_weights import udp_target

_ADS_V3 = config_source_pb2.V3


def build_listener(listener: Listener, out: ResourceSet, settings: XdsSettings) -> None:
    name = names.listener_name(listener)
    hard = settings.hardening
    lis = listener_pb2.Listener()
    lis.name = name
    sa = lis.address.socket_address
    sa.address = listener.address
    sa.port_value = settings.bind_port(listener.port)
    origins: list[Origin] = list(listener.gateways)
    if listener.protocol is Protocol.UDP:
        sa.protocol = address_pb2.SocketAddress.UDP
        _fill_udp(lis, listener, settings)
    else:
        lis.per_connection_buffer_limit_bytes.value = (
            hard.per_connection_buffer_limit_bytes
            if listener.protocol in (Protocol.HTTP, Protocol.HTTPS)
            else hard.l4_per_connection_buffer_limit_bytes
        )
        if listener.protocol in (Protocol.HTTPS, Protocol.TLS):
            f = lis.listener_filters.add()
            f.name = "envoy.filters.listener.tls_inspector"
            f.typed_config.Pack(tls_inspector_pb2.TlsInspector())
        for chain in listener.chains:
            _fill_chain(lis.filter_chains.add(), listener, chain, out, settings)
            out.add_part((LISTENER, name, chain.name), (chain.listener,))
        if not listener.chains:
            # Envoy rejects a listener without filter chains; with no route attached, the
            # socket accepts and closes (as for a route whose backends are all invalid).
            chain_out = lis.default_filter_chain
            chain_out.name = "no-routes"
            _fill_tcp_proxy(chain_out.filters.add(), f"{names.stat_prefix(listener)}", (), [])
    for chain in listener.chains:
        if chain.listener not in origins:
            origins.append(chain.listener)
    out.add(LISTENER, name, lis, tuple(origins))


def _fill_chain(
    fc: Any, listener: Listener, chain: FilterChain, out: ResourceSet, settings: XdsSettings
) -> None:
    hard = settings.hardening
    fc.name = chain.name
    if chain.server_names:
        fc.filter_chain_match.server_names.extend(chain.server_names)
    if chain.tls is not None:
        _fill_downstream_tls(fc.transport_socket, listener, chain)
    prefix = names.stat_prefix(listener, chain)
    _fill_connection_limit(fc.filters.add(), prefix, hard)
    if chain.virtual_hosts is not None:
        rc_name = names.route_config_name(listener, chain)
        auth = ext_authz.chain_filters(chain.virtual_hosts)
        logs = http_access_logs(settings.access_log, settings.route_stats)
        h = _fill_hcm(prefix, rc_name, hard, auth, logs)
        tracing = effective(listener.tracing, settings)
        if tracing is not None:
            fill_tracing(h, tracing)
        f = fc.filters.add()
        f.name = "envoy.filters.network.http_connection_manager"
        f.typed_config.Pack(h)
        build_route_config(rc_name, listener, chain, out, settings)
    else:
        backends = chain.l4.backends if chain.l4 is not None else ()
        logs = l4_access_logs(settings.access_log, listener, chain)
        _fill_tcp_proxy(fc.filters.add(), prefix, backends, logs)


def _fill_connection_limit(f: Any, prefix: str, hard: Hardening) -> None:
    f.name = "envoy.filters.network.connection_limit"
    cl = connection_limit_pb2.ConnectionLimit()
    cl.stat_prefix = prefix
    cl.max_connections.value = hard.max_connections_per_chain
    f.typed_config.Pack(cl)


def _fill_hcm(
    prefix: str, rc_name: str, hard: Hardening, auth: list[tuple[str, Any]], logs: list[Any]
) -> Any:
    h = hcm_pb2.HttpConnectionManager()
    # AUTO: HTTP/1.1, and HTTP/2 by ALPN or by prior knowledge (h2c preface) on cleartext,
    # which GRPCRoute on an HTTP listener needs.
    h.codec_type = hcm_pb2.HttpConnectionManager.AUTO
    h.stat_prefix = prefix
    h.rds.route_config_name = rc_name
    h.rds.config_source.ads.SetInParent()
    h.rds.config_source.resource_api_version = _ADS_V3
    fill_http_filters(h.http_filters, auth)
    h.upgrade_configs.add().upgrade_type = "websocket"
    h.access_log.extend(logs)
    _harden_hcm(h, hard)
    return h


def _harden_hcm(h: Any, hard: Hardening) -> None:
    """Apply `hardening.Hardening` (the reasons are documented there)."""
    h.normalize_path.value = hard.normalize_path
    h.merge_slashes = hard.merge_slashes
    if hard.unescape_and_redirect_slashes:
        h.path_with_escaped_slashes_action = hcm_pb2.HttpConnectionManager.UNESCAPE_AND_REDIRECT
    opts = h.common_http_protocol_options
    if hard.drop_headers_with_underscores:
        opts.headers_with_underscores_action = protocol_pb2.HttpProtocolOptions.DROP_HEADER
    opts.max_headers_count.value = hard.max_headers_count
    opts.idle_timeout.seconds = hard.connection_idle_timeout_s
    h.max_request_headers_kb.value = hard.max_request_headers_kb
    h.request_headers_timeout.seconds = hard.request_headers_timeout_s
    h.request_timeout.seconds = hard.request_timeout_s
    h.stream_idle_timeout.seconds = hard.stream_idle_timeout_s
    h.drain_timeout.seconds = hard.drain_timeout_s
    h.use_remote_address.value = hard.use_remote_address
    h.xff_num_trusted_hops = hard.xff_num_trusted_hops
    h2 = h.http2_protocol_options
    h2.max_concurrent_streams.value = hard.http2_max_concurrent_streams
    h2.initial_stream_window_size.value = hard.http2_initial_stream_window_size
    h2.initial_connection_window_size.value = hard.http2_initial_connection_window_size


def _fill_downstream_tls(ts: Any, listener: Listener, chain: FilterChain) -> None:
    tls = chain.tls
    assert tls is not None
    ctx = tls_pb2.DownstreamTlsContext()
    common = ctx.common_tls_context
    for cert in tls.certificates:
        ref = common.tls_certificate_sds_secret_configs.add()
        ref.name = names.certificate_secret_name(cert.name)
        _ads(ref.sds_config)
    common.alpn_protocols.extend(tls.alpn)
    if tls.client_validation is not None:
        ref = common.validation_context_sds_secret_config
        ref.name = names.client_ca_secret_name(listener, chain)
        _ads(ref.sds_config)
        ctx.require_client_certificate.value = not tls.client_validation.allow_insecure_fallback
    ts.name = "envoy.transport_sockets.tls"
    ts.typed_config.Pack(ctx)


def _ads(config_source: Any) -> None:
    config_source.ads.SetInParent()
    config_source.resource_api_version = _ADS_V3


def _fill_tcp_proxy(
    f: Any, prefix: str, backends: tuple[WeightedBackend, ...], logs: list[Any]
) -> None:
    """Weighted TCP forwarding. Invalid or missing backends: the never-defined cluster, on
    which tcp_proxy closes the connection (weighted, like the HTTP 500 share)."""
    f.name = "envoy.filters.network.tcp_proxy"
    t = tcp_proxy_pb2.TcpProxy()
    t.stat_prefix = prefix
    t.access_log.extend(logs)
    live = [b for b in backends if b.weight > 0]
    valid = [b for b in live if b.cluster is not None]
    invalid_weight = sum(b.weight for b in live if b.cluster is None)
    if len(valid) == 1 and invalid_weight == 0:
        t.cluster = valid[0].cluster  # type: ignore[assignment]
    elif not valid:
        t.cluster = names.INVALID_BACKEND_CLUSTER
    else:
        for b in valid:
            cw = t.weighted_clusters.clusters.add()
            cw.name = b.cluster
            cw.weight = b.weight
        if invalid_weight:
            cw = t.weighted_clusters.clusters.add()
            cw.name = names.INVALID_BACKEND_CLUSTER
            cw.weight = invalid_weight
    f.typed_config.Pack(t)


def _fill_udp(lis: Any, listener: Listener, settings: XdsSettings) -> None:
    """udp_proxy to one cluster: the backend's, or with several backends the weighted
    cluster of `udp_weights`; with none, datagrams go to the never-defined cluster and are
    dropped."""
    cluster = udp_target(listener)
    u = udp_proxy_pb2.UdpProxyConfig()
    u.stat_prefix = names.stat_prefix(listener)
    backend = names.backend_of(cluster) if cluster else None
    u.access_log.extend(udp_access_logs(settings.access_log, listener, backend))
    action = u.matcher.on_no_match.action
    action.name = "route"
    route = udp_route_pb2.Route()
    route.cluster = cluster or names.INVALID_BACKEND_CLUSTER
    action.typed_config.Pack(route)
    f = lis.listener_filters.add()
    f.name = "envoy.filters.udp_listener.udp_proxy"
    f.typed_config.Pack(u)
