"""IR Cluster -> Envoy EDS Cluster + ClusterLoadAssignment (with upstream TLS and h2c)."""

from __future__ import annotations

from typing import Any

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import config_source_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, tls_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2

from hatchway.ir import AppProtocol, Cluster, UpstreamTLS
from hatchway.xds.settings import XdsSettings

_HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
_SAN = common_pb2.SubjectAltNameMatcher


def cluster_messages(cluster: Cluster, settings: XdsSettings) -> tuple[Any, Any]:
    """The Envoy Cluster and ClusterLoadAssignment of an IR cluster."""
    c = cluster_pb2.Cluster()
    c.name = cluster.name
    # The backend as logs and metrics name it (`%UPSTREAM_CLUSTER%`, cluster stats).
    c.alt_stat_name = f"{cluster.service.namespace}/{cluster.service.name}:{cluster.port}"
    c.type = cluster_pb2.Cluster.EDS
    c.eds_cluster_config.eds_config.ads.SetInParent()
    c.eds_cluster_config.eds_config.resource_api_version = config_source_pb2.V3
    ms = cluster.connect_timeout_ms
    c.connect_timeout.seconds, rest = divmod(ms, 1000)
    c.connect_timeout.nanos = rest * 1_000_000
    c.per_connection_buffer_limit_bytes.value = (
        settings.hardening.upstream_per_connection_buffer_limit_bytes
    )
    # Endpoints leave EDS when pods go away; do not keep sending to them until a health
    # check (we have none) notices.
    c.ignore_health_on_host_removal = True
    if cluster.protocol is AppProtocol.H2C:
        opts = http_protocol_options_pb2.HttpProtocolOptions()
        opts.explicit_http_config.http2_protocol_options.SetInParent()
        c.typed_extension_protocol_options[_HTTP_OPTIONS].Pack(opts)
    fail_closed = cluster.tls is not None and cluster.tls.invalid is not None
    if cluster.tls is not None and not fail_closed:
        # HTTP/2 over TLS offers ALPN h2: gRPC servers (grpc-go) refuse a handshake without it.
        alpn = ("h2",) if cluster.protocol is AppProtocol.H2C else ()
        _fill_upstream_tls(c.transport_socket, cluster.tls, settings, alpn)

    cla = endpoint_pb2.ClusterLoadAssignment()
    cla.cluster_name = cluster.name
    # An invalid BackendTLSPolicy must fail closed, never fall back to plaintext: the
    # cluster keeps no endpoints, so Envoy answers 503 (no healthy upstream).
    if cluster.endpoints and not fail_closed:
        locality = cla.endpoints.add()
        for ep in sorted(cluster.endpoints):
            sa = locality.lb_endpoints.add().endpoint.address.socket_address
            sa.address = ep.address
            sa.port_value = ep.port
    return c, cla


def _fill_upstream_tls(
    ts: Any, tls: UpstreamTLS, settings: XdsSettings, alpn: tuple[str, ...] = ()
) -> None:
    """Inline (not SDS): a cluster update replaces the context; CA bundles rarely change."""
    ctx = tls_pb2.UpstreamTlsContext()
    ctx.sni = tls.sni
    common = ctx.common_tls_context
    common.alpn_protocols.extend(alpn)
    vc = common.validation_context
    if tls.ca_pem:
        vc.trusted_ca.inline_string = tls.ca_pem
    elif tls.use_system_cas:
        vc.trusted_ca.filename = settings.system_ca_file
    sans = [(_SAN.DNS, v) for v in tls.san_dns] + [(_SAN.URI, v) for v in tls.san_uri]
    if not sans:
        sans = [(_SAN.DNS, tls.sni)]  # no SAN list: the certificate must match the SNI
    for san_type, value in sans:
        m = vc.match_typed_subject_alt_names.add()
        m.san_type = san_type
        m.matcher.exact = value
    if tls.client_cert_pem and tls.client_key_pem:
        cert = common.tls_certificates.add()
        cert.certificate_chain.inline_string = tls.client_cert_pem
        cert.private_key.inline_string = tls.client_key_pem
    ts.name = "envoy.transport_sockets.tls"
    ts.typed_config.Pack(ctx)
