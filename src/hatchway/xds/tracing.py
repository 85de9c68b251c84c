"""OpenTelemetry tracing: the HTTP connection manager's `tracing` block, from the socket's
`ir.Tracing` (its Gateway's XTelemetryPolicy) or the deployment's default collector
(`serve --tracing-endpoint`), and that default collector's cluster.

Every span carries the attributes of the Gateway API attribute dictionary (GEP-5253) that a
gateway knows for a request, and the Gateway API identity of what served it under the
`hatchway.dev/` namespace (vendor keys must be namespaced, GEP-5253). Values come from the
same place as the access log's (`xds.telemetry`: route and virtual host metadata, the route's
name).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.trace.v3 import opentelemetry_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2

from hatchway.ir import SpanAttribute, Tracing
from hatchway.xds.resources import CLUSTER, ResourceSet
from hatchway.xds.settings import XdsSettings
from hatchway.xds.telemetry import route_field, vhost_field

# The cluster of `serve --tracing-endpoint`.
DEFAULT_COLLECTOR = "hatchway/otlp-collector"
_HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


# GEP-5253 attribute -> Envoy command operator, for what a gateway knows of a request.
DICTIONARY: Mapping[str, str] = {
    "http.request.method": "%REQ(:METHOD)%",
    "http.response.status_code": "%RESPONSE_CODE%",
    "http.route": route_field("route"),
    "url.scheme": "%REQ(:SCHEME)%",
    "url.path": "%PATH(NQ)%",
    "url.full": "%REQ(:SCHEME)%://%REQ(:AUTHORITY)%%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "server.address": "%REQ(:AUTHORITY)%",
    "server.port": "%DOWNSTREAM_LOCAL_PORT%",
    "client.address": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    "client.port": "%DOWNSTREAM_REMOTE_PORT%",
    "network.peer.address": "%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%",
    "network.peer.port": "%DOWNSTREAM_DIRECT_REMOTE_PORT%",
    "network.protocol.name": "http",
    "network.transport": "tcp",
    "user_agent.original": "%REQ(USER-AGENT)%",
}
# On every span: these dictionary attributes, and the Gateway API identity.
DEFAULT_ATTRIBUTES: Mapping[str, str] = {
    **{
        k: DICTIONARY[k]
        for k in (
            "http.request.method",
            "http.response.status_code",
            "http.route",
            "url.scheme",
            "url.path",
            "server.address",
            "client.address",
            "user_agent.original",
        )
    },
    "hatchway.dev/gateway": vhost_field("gateway"),
    "hatchway.dev/listener": vhost_field("listener"),
    "hatchway.dev/route": route_field("route"),
    "hatchway.dev/route_kind": route_field("route_kind"),
    "hatchway.dev/rule": route_field("rule"),
    "hatchway.dev/rule_name": route_field("rule_name"),
    "hatchway.dev/backend": "%UPSTREAM_CLUSTER%",
}


def effective(tracing: Tracing | None, settings: XdsSettings) -> Tracing | None:
    """What a socket traces: its Gateway's policy, else the deployment's default, if any."""
    if tracing is not None:
        return tracing if tracing.enabled else None
    if settings.tracing_endpoint is None:
        return None
    host, _ = settings.tracing_endpoint
    return Tracing(collector_cluster=DEFAULT_COLLECTOR, authority=host)


def fill_tracing(h: Any, tracing: Tracing) -> None:
    """The `tracing` block of an HttpConnectionManager `h`."""
    t = h.tracing
    num, den = tracing.sampling
    t.random_sampling.value = 100.0 * num / den
    if tracing.parent_sampling is not None:
        pnum, pden = tracing.parent_sampling
        t.overall_sampling.value = 100.0 * pnum / pden
    if tracing.span_name:
        t.operation = tracing.span_name
    tags: dict[str, Any] = dict(DEFAULT_ATTRIBUTES)
    for a in tracing.attributes:
        tags[a.name] = a
    for name, value in tags.items():
        _tag(t.custom_tags.add(), name, value)
    otel = opentelemetry_pb2.OpenTelemetryConfig()
    grpc = otel.grpc_service
    grpc.envoy_grpc.cluster_name = tracing.collector_cluster or DEFAULT_COLLECTOR
    if tracing.authority:
        grpc.envoy_grpc.authority = tracing.authority
    grpc.timeout.seconds = 5
    for key, val in tracing.headers:
        md = grpc.initial_metadata.add()
        md.key = key.lower()
        md.value = val
    otel.service_name = tracing.service_name
    t.provider.name = "envoy.tracers.opentelemetry"
    t.provider.typed_config.Pack(otel)


def _tag(tag: Any, name: str, value: str | SpanAttribute) -> None:
    tag.tag = name
    if isinstance(value, str):
        tag.value = value
    elif value.header is not None:
        tag.request_header.name = value.header.lower()
    elif value.literal is not None:
        tag.literal.value = value.literal
    elif value.attribute is not None:
        tag.value = DICTIONARY[value.attribute]


def build_default_collector(settings: XdsSettings, out: ResourceSet) -> None:
    """The cluster of `--tracing-endpoint HOST:PORT`: OTLP over gRPC (HTTP/2, cleartext)."""
    if settings.tracing_endpoint is None:
        return
    host, port = settings.tracing_endpoint
    c = cluster_pb2.Cluster()
    c.name = DEFAULT_COLLECTOR
    c.connect_timeout.seconds = 2
    try:
        ipaddress.ip_address(host)
        c.type = cluster_pb2.Cluster.STATIC
    except ValueError:
        c.type = cluster_pb2.Cluster.STRICT_DNS
    la = c.load_assignment
    la.cluster_name = DEFAULT_COLLECTOR
    sa = la.endpoints.add().lb_endpoints.add().endpoint.address.socket_address
    sa.address = host
    sa.port_value = port
    opts = http_protocol_options_pb2.HttpProtocolOptions()
    opts.explicit_http_config.http2_protocol_options.SetInParent()
    c.typed_extension_protocol_options[_HTTP_OPTIONS].Pack(opts)
    out.add(CLUSTER, c.name, c, ())
