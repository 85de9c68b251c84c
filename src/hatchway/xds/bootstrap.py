"""The Envoy bootstrap: everything Envoy needs before it can talk to our xDS server.

Pure: returns a JSON-able dict (Envoy reads JSON/YAML bootstraps; the runtime writes it to a
file). All routing config arrives later over delta ADS; the bootstrap only holds the xDS
cluster, the admin endpoint, process-wide limits and the log format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hatchway.ir.re2 import MAX_PROGRAM_SIZE
from hatchway.xds.telemetry import HISTOGRAM_BUCKETS

XDS_CLUSTER = "hatchway_xds"

# Envoy's application log as one JSON object per line, so the runtime can re-log each line
# with its real level and logger instead of guessing from text. `%j` is the message escaped
# for JSON.
LOG_JSON_FORMAT: dict[str, str] = {
    "time": "%Y-%m-%dT%T.%eZ",
    "level": "%l",
    "logger": "%n",
    "thread": "%t",
    "source": "%g:%#",
    "message": "%j",
}


@dataclass(frozen=True)
class BootstrapSettings:
    node_id: str
    # The xDS server's Unix socket (a `pipe` address): only processes that can enter its
    # private directory reach it, unlike a loopback port any local process can connect to.
    # Empty when the control plane is remote (`xds_remote`).
    xds_socket: str = ""
    node_cluster: str = "hatchway"
    # Port 0: Envoy picks a free port and writes it to `--admin-address-path`; the admin
    # interface is unauthenticated, so it only ever listens on loopback.
    admin_port: int = 0
    # Process-wide cap on downstream connections, the overload manager's
    # `global_downstream_max_connections` monitor (what Envoy's edge-proxy guide recommends):
    # beyond it Envoy closes new connections at accept, instead of running out of file
    # descriptors or memory; established connections are untouched. The admin listener is
    # exempt. Per filter chain there is a second cap (`Hardening.max_connections_per_chain`).
    max_downstream_connections: int = 50_000
    # Envoy's heap budget for the overload manager's `fixed_heap` monitor (see HEAP_ACTIONS).
    # The runtime sizes it from the memory the process may use (`runtime.memory`).
    max_heap_bytes: int = 2 << 30
    json_logs: bool = True
    # A remote control plane (a provisioned proxy's controller), over mutual TLS. None: the
    # local control plane on `xds_socket` (serve, the embedded Envoy of a controller).
    xds_remote: XdsRemote | None = None


@dataclass(frozen=True)
class XdsRemote:
    """The controller's xDS Service, and the directory holding `ca.crt`, `tls.crt` and
    `tls.key`: Envoy watches it, so a renewed certificate is picked up without a restart."""

    host: str  # a DNS name (every controller replica serves xDS) or an IP
    port: int
    tls_dir: str
    server_name: str  # the control plane's name in its certificate (SNI and SAN check)


# Overload actions on Envoy's heap (the edge-proxy guide's thresholds), as a fraction of
# `max_heap_bytes`: first return freed memory to the system, then answer new requests with
# 503 instead of growing until the kernel's OOM killer ends every connection at once.
HEAP_ACTIONS: tuple[tuple[str, float], ...] = (
    ("envoy.overload_actions.shrink_heap", 0.95),
    ("envoy.overload_actions.stop_accepting_requests", 0.98),
)
_FIXED_HEAP = "envoy.resource_monitors.fixed_heap"


def bootstrap(s: BootstrapSettings) -> dict[str, Any]:
    config: dict[str, Any] = {
        # Both fields are required with ADS; Envoy exits at startup without them.
        "node": {"id": s.node_id, "cluster": s.node_cluster},
        "admin": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": s.admin_port}},
            # The control plane's readiness probes and an operator's /stats must still get
            # through when clients have used up the connection cap.
            "ignore_global_conn_limit": True,
        },
        "dynamic_resources": {
            "ads_config": {
                # Delta ADS: per-resource updates for clusters, endpoints and listeners.
                "api_type": "DELTA_GRPC",
                "transport_api_version": "V3",
                "grpc_services": [{"envoy_grpc": {"cluster_name": XDS_CLUSTER}}],
                "set_node_on_first_message_only": True,
            },
            "cds_config": {"ads": {}, "resource_api_version": "V3"},
            "lds_config": {"ads": {}, "resource_api_version": "V3"},
        },
        "static_resources": {"clusters": [_xds_cluster(s)]},
        "layered_runtime": _layered_runtime(),
        "overload_manager": _overload_manager(s),
        "stats_config": {
            # Route-level stats per virtual cluster are not used; keep tag extraction so the
            # Prometheus output has labelled metrics instead of names with embedded values.
            "use_all_default_tags": True,
            # Per-route durations (`xds.telemetry`), in microseconds.
            "histogram_bucket_settings": [
                {
                    "match": {"prefix": HISTOGRAM_BUCKETS["prefix"]},
                    "buckets": list(HISTOGRAM_BUCKETS["buckets"]),
                }
            ],
        },
        "stats_flush_interval": "5s",
    }
    if s.json_logs:
        config["application_log_config"] = {"log_format": {"json_format": LOG_JSON_FORMAT}}
    return config


def _layered_runtime() -> dict[str, Any]:
    return {
        "layers": [
            {
                "name": "static",
                "static_layer": {
                    # HTTP/2 "rapid reset" (CVE-2023-44487): a connection whose streams are
                    # mostly reset before this lifetime is closed after this many streams.
                    # Envoy's defaults, stated so an operator sees and can tune them.
                    "overload.premature_reset_total_stream_count": 500,
                    "overload.premature_reset_min_stream_lifetime_seconds": 1,
                    # Envoy refuses a regex whose RE2 program is over 100 instructions,
                    # which a plain `/(a|b|c)/[0-9]{1,12}/...` path match exceeds, and
                    # the refusal rejects the whole RouteConfiguration. RE2 runs in
                    # linear time whatever the size; this still bounds memory.
                    "re2.max_program_size.error_level": MAX_PROGRAM_SIZE,
                },
            },
            # An admin layer so an operator can change runtime values via /runtime_modify.
            {"name": "admin", "admin_layer": {}},
        ]
    }


def _overload_manager(s: BootstrapSettings) -> dict[str, Any]:
    return {
        "refresh_interval": "0.25s",
        "resource_monitors": [
            {
                "name": "envoy.resource_monitors.global_downstream_max_connections",
                "typed_config": {
                    "@type": (
                        "type.googleapis.com/envoy.extensions.resource_monitors."
                        "downstream_connections.v3.DownstreamConnectionsConfig"
                    ),
                    "max_active_downstream_connections": s.max_downstream_connections,
                },
            },
            {
                "name": _FIXED_HEAP,
                "typed_config": {
                    "@type": (
                        "type.googleapis.com/envoy.extensions.resource_monitors."
                        "fixed_heap.v3.FixedHeapConfig"
                    ),
                    "max_heap_size_bytes": s.max_heap_bytes,
                },
            },
        ],
        "actions": [
            {"name": name, "triggers": [{"name": _FIXED_HEAP, "threshold": {"value": at}}]}
            for name, at in HEAP_ACTIONS
        ],
    }


def _xds_cluster(s: BootstrapSettings) -> dict[str, Any]:
    cluster = _plain_xds_cluster(s)
    remote = s.xds_remote
    if remote is not None:
        cluster["type"] = "STRICT_DNS"  # a Service name; every controller replica serves xDS
        address = {"socket_address": {"address": remote.host, "port_value": remote.port}}
        cluster["load_assignment"]["endpoints"] = [
            {"lb_endpoints": [{"endpoint": {"address": address}}]}
        ]
        cluster["transport_socket"] = _xds_transport_socket(remote)
    return cluster


def _xds_transport_socket(tls: XdsRemote) -> dict[str, Any]:
    """Mutual TLS to the control plane: our client certificate names our Gateway, and only a
    server certificate from the controller's CA for `server_name` is trusted."""
    d = tls.tls_dir.rstrip("/")
    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": (
                "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
            ),
            "sni": tls.server_name,
            "common_tls_context": {
                "alpn_protocols": ["h2"],
                # Envoy's client default maximum is TLS 1.2: both ends are ours, use 1.3 only.
                "tls_params": {
                    "tls_minimum_protocol_version": "TLSv1_3",
                    "tls_maximum_protocol_version": "TLSv1_3",
                },
                "tls_certificates": [
                    {
                        "certificate_chain": {"filename": f"{d}/tls.crt"},
                        "private_key": {"filename": f"{d}/tls.key"},
                        "watched_directory": {"path": d},
                    }
                ],
                "validation_context": {
                    "trusted_ca": {"filename": f"{d}/ca.crt"},
                    "watched_directory": {"path": d},
                    "match_typed_subject_alt_names": [
                        {"san_type": "DNS", "matcher": {"exact": tls.server_name}}
                    ],
                },
            },
        },
    }


def _plain_xds_cluster(s: BootstrapSettings) -> dict[str, Any]:
    return {
        "name": XDS_CLUSTER,
        "type": "STATIC",
        "connect_timeout": "1s",
        # gRPC needs HTTP/2: without it Envoy never connects and says nothing about why.
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": (
                    "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
                ),
                "explicit_http_config": {
                    "http2_protocol_options": {
                        # Detect a dead control plane connection without waiting for TCP.
                        "connection_keepalive": {"interval": "30s", "timeout": "5s"},
                    }
                },
            }
        },
        "load_assignment": {
            "cluster_name": XDS_CLUSTER,
            "endpoints": [
                {"lb_endpoints": [{"endpoint": {"address": {"pipe": {"path": s.xds_socket}}}}]}
            ],
        },
    }
