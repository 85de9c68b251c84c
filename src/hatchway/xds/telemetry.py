"""What Envoy reports about the traffic, per Gateway API object: access logs and per-route stats.

The Gateway API identity of a request travels in Envoy's own configuration, so Envoy's
formatters can print it and a proxy that only sees xDS can map its stats back to names:
- each virtual host carries `filter_metadata.hatchway = {gateway: "ns/name", listener}`;
- each route is named after its route object, `ns/name` (Envoy's `%ROUTE_NAME%`; stand-ins
  for "no route" have no name), and carries `{route_kind, rule, rule_name?}`. The name is
  the cheap carrier: Envoy copies, hashes and checks every metadata value of every route on
  each RouteConfiguration update (3,000 routes: a third value cost ~4 ms per change);
- clusters state their backend (`ns/service:port`) as `alt_stat_name`, which is what
  `%UPSTREAM_CLUSTER%` prints and what Envoy's cluster stats are named by.
TCP, TLS and UDP chains have one route each, so their identity is written into the log format
as literals.

Per-route stats come from Envoy's stats access logger: a counter and a duration histogram,
tagged with that metadata (one `route_id` tag). Tag values are read from the configuration
(never from the request), but for the response status, so the series per route are
bounded by what the configuration names (`runtime.route_metrics` documents the cost).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from envoy.config.accesslog.v3 import accesslog_pb2
from envoy.extensions.access_loggers.file.v3 import file_pb2
from envoy.extensions.access_loggers.stats.v3 import stats_pb2
from envoy.extensions.access_loggers.stream.v3 import stream_pb2
from google.protobuf import struct_pb2

from hatchway.ir import ROUTE_KINDS, FilterChain, Listener, Origin

# Namespace of our filter metadata on virtual hosts and routes.
METADATA_NS = "hatchway"

# Names of the stats the stats access logger makes (under `STATS_PREFIX`), and their tags.
STATS_PREFIX = "hatchway"
REQUESTS_STAT = "route_requests"
DURATION_STAT = "route_duration_ms"
# One tag holds the whole identity, `ns/gateway~listener~ns/route~kind~rule` (no Kubernetes
# name holds a `~`): Envoy resolves a stat name per request and tag, and five tags instead of
# one cost ~10 % of a request's CPU (benchmarks/README). `runtime.route_metrics` splits it.
ID_TAG = "route_id"
ID_PARTS = ("gateway", "listener", "route", "route_kind", "rule")
ID_SEPARATOR = "~"
CODE_TAG = "code"
# Duration histogram buckets, in milliseconds: the stats logger takes only numbers, and
# `%DURATION%` is the duration operator that gives one (whole milliseconds).
DURATION_BUCKETS_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 5_000, 30_000)
# What Envoy needs beside the xDS config: histogram buckets for our stats (bootstrap).
HISTOGRAM_BUCKETS: dict[str, Any] = {
    "prefix": f"{STATS_PREFIX}.{DURATION_STAT}",
    "buckets": DURATION_BUCKETS_MS,
}


@dataclass(frozen=True)
class AccessLog:
    """Where Envoy writes one line per request / connection / session, and how."""

    path: str | None = None  # None: Envoy's stdout (serve's or the proxy Pod's stdout)
    format: str = "json"  # "json" or "text"


def vhost_field(key: str) -> str:
    """The command operator that prints identity `key` of the request's virtual host."""
    return f"%METADATA(VIRTUAL_HOST:{METADATA_NS}:{key})%"


def route_field(key: str) -> str:
    """The command operator that prints identity `key` of the route that took the request
    (the access log, route stats and span attributes all read it this way)."""
    if key == "route":
        return "%ROUTE_NAME%"  # the Envoy route's name: see `envoy_route_name`
    return f"%METADATA(ROUTE:{METADATA_NS}:{key})%"


# The access log of HTTP requests: field -> Envoy command operator (docs/reference.md).
# `%START_TIME%` unformatted is already ISO 8601 UTC with milliseconds, and Envoy caches it:
# the same with an explicit format string cost ~15 % of a request's CPU (benchmarks/README).
HTTP_FIELDS: Mapping[str, str] = {
    "time": "%START_TIME%",
    "method": "%REQ(:METHOD)%",
    "authority": "%REQ(:AUTHORITY)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "protocol": "%PROTOCOL%",
    "status": "%RESPONSE_CODE%",
    "duration_ms": "%DURATION%",
    "bytes_received": "%BYTES_RECEIVED%",
    "bytes_sent": "%BYTES_SENT%",
    "response_flags": "%RESPONSE_FLAGS%",
    "upstream_host": "%UPSTREAM_HOST%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "gateway": vhost_field("gateway"),
    "listener": vhost_field("listener"),
    "route": route_field("route"),
    "route_kind": route_field("route_kind"),
    "rule": route_field("rule"),
    "rule_name": route_field("rule_name"),
    "backend": "%UPSTREAM_CLUSTER%",
}

# One line per TCP/TLS connection: the same names where they mean the same thing.
L4_FIELDS: Mapping[str, str] = {
    "time": "%START_TIME%",
    "duration_ms": "%DURATION%",
    "bytes_received": "%BYTES_RECEIVED%",
    "bytes_sent": "%BYTES_SENT%",
    "response_flags": "%RESPONSE_FLAGS%",
    "upstream_host": "%UPSTREAM_HOST%",
    "sni": "%REQUESTED_SERVER_NAME%",
    "backend": "%UPSTREAM_CLUSTER%",
}

# One line per UDP session (the datagram counts from udp_proxy's session metadata).
UDP_FIELDS: Mapping[str, str] = {
    "time": "%START_TIME%",
    "duration_ms": "%DURATION%",
    "bytes_received": "%BYTES_RECEIVED%",
    "bytes_sent": "%BYTES_SENT%",
    "datagrams_received": "%DYNAMIC_METADATA(udp.proxy.session:datagrams_received)%",
    "datagrams_sent": "%DYNAMIC_METADATA(udp.proxy.session:datagrams_sent)%",
    "upstream_host": "%UPSTREAM_HOST%",
}


# --- identity ----------------------------------------------------------------------------


def gateway_of(listener: Listener, owner: Origin) -> str:
    """`ns/name` of the Gateway a Gateway API listener belongs to (a ListenerSet's parent)."""
    if owner.kind == "ListenerSet":
        for ls, gateway in listener.listener_sets:
            if (ls.namespace, ls.name) == (owner.namespace, owner.name):
                return f"{gateway.namespace}/{gateway.name}"
    return f"{owner.namespace}/{owner.name}"


def listener_label(owner: Origin) -> str:
    """The listener's name; a ListenerSet's listeners are named `ns/listenerset/listener`,
    apart from the Gateway's own (whose names cannot hold a `/`)."""
    section = owner.section or ""
    if owner.kind == "ListenerSet":
        return f"{owner.namespace}/{owner.name}/{section}"
    return section


def vhost_identity(listener: Listener, owner: Origin) -> dict[str, Any]:
    return {"gateway": gateway_of(listener, owner), "listener": listener_label(owner)}


def route_identity(origin: Origin) -> dict[str, Any]:
    """The route's part of the identity; empty for what is not a route (a listener's
    stand-in for "no route")."""
    rest = route_metadata(origin)
    return {"route": envoy_route_name(origin), **rest} if rest else {}


def envoy_route_name(origin: Origin) -> str:
    """The name of an Envoy route made for `origin`: `ns/name` of its route object, which
    `%ROUTE_NAME%` prints as the log's `route`; empty for what is not a route (printed as
    null, as when no route matched)."""
    return f"{origin.namespace}/{origin.name}" if origin.kind in ROUTE_KINDS else ""


def route_metadata(origin: Origin) -> dict[str, Any]:
    """What an Envoy route carries beside its name: the identity but `route`."""
    if origin.kind not in ROUTE_KINDS:
        return {}
    out: dict[str, Any] = {
        "route_kind": origin.kind,
        "rule": origin.rule if origin.rule is not None else 0,
    }
    if origin.rule_name:
        out["rule_name"] = origin.rule_name
    return out


def owner_of(r: Any) -> Origin | None:
    """The route object behind Envoy route `r` (a `route.v3.Route`), from its name and
    metadata; None for a stand-in."""
    # `in` first: reading a missing key of a message map would add it to `r`.
    ours = r.metadata.filter_metadata
    fields = ours[METADATA_NS].fields if METADATA_NS in ours else {}
    namespace, _, name = r.name.partition("/")
    if "route_kind" not in fields or not name:
        return None
    return Origin(fields["route_kind"].string_value, namespace, name)


def fill_metadata(metadata: Any, identity: Mapping[str, Any]) -> None:
    """`metadata.filter_metadata.hatchway = identity` (a `core.v3.Metadata`)."""
    if identity:
        metadata.filter_metadata[METADATA_NS].update(dict(identity))


# --- access loggers ----------------------------------------------------------------------


def http_access_logs(log: AccessLog | None, route_stats: bool) -> list[Any]:
    """The HTTP connection manager's access loggers: the log, then the per-route stats."""
    out = []
    if log is not None:
        out.append(_output(log, HTTP_FIELDS, None))
    if route_stats:
        out.append(_route_stats())
    return out


def l4_access_logs(log: AccessLog | None, listener: Listener, chain: FilterChain) -> list[Any]:
    """tcp_proxy's access logger for one chain: its identity as literals."""
    if log is None:
        return []
    return [_output(log, L4_FIELDS, _l4_identity(listener, chain))]


def udp_access_logs(log: AccessLog | None, listener: Listener, backend: str | None) -> list[Any]:
    if log is None or not listener.chains:
        return []
    chain = listener.chains[0]
    # udp_proxy prints no upstream cluster: the backend is known when there is one.
    return [_output(log, UDP_FIELDS, {**_l4_identity(listener, chain), "backend": backend})]


def _l4_identity(listener: Listener, chain: FilterChain) -> dict[str, Any]:
    route = route_identity(chain.l4.origin) if chain.l4 is not None else {}
    return {
        "protocol": listener.protocol.value,
        **vhost_identity(listener, chain.listener),
        "route": route.get("route"),
        "route_kind": route.get("route_kind"),
        "rule": route.get("rule"),
    }


def _output(log: AccessLog, fields: Mapping[str, str], literals: Mapping[str, Any] | None) -> Any:
    fmt: Any
    if log.path is None:
        fmt = stream_pb2.StdoutAccessLog()
        name = "envoy.access_loggers.stdout"
    else:
        fmt = file_pb2.FileAccessLog(path=log.path)
        name = "envoy.access_loggers.file"
    values: dict[str, Any] = dict(fields)
    if literals:
        values.update(literals)
    if log.format == "text":
        fmt.log_format.text_format_source.inline_string = _text_line(values)
    else:
        s = struct_pb2.Struct()
        s.update(values)
        fmt.log_format.json_format.CopyFrom(s)
    out = accesslog_pb2.AccessLog(name=name)
    out.typed_config.Pack(fmt)
    return out


def _text_line(values: Mapping[str, Any]) -> str:
    """One `key=value` pair per field, in the JSON field order; `-` for what is unset."""

    def show(v: Any) -> str:
        if v is None:
            return "-"
        text = str(v)
        return text if "%" in text or " " not in text else f'"{text}"'

    return " ".join(f"{k}={show(v)}" for k, v in values.items()) + "\n"


def _route_stats() -> Any:
    """Envoy's stats access logger: requests by route and status, durations by route."""
    cfg = stats_pb2.Config()
    counter = cfg.counters.add()
    counter.stat.name = REQUESTS_STAT
    _tags(counter.stat, (ID_TAG, CODE_TAG))
    counter.value_fixed.value = 1
    hist = cfg.histograms.add()
    hist.stat.name = DURATION_STAT
    _tags(hist.stat, (ID_TAG,))
    hist.unit = stats_pb2.Config.Histogram.Milliseconds
    hist.value_format = "%DURATION%"
    # Deprecated in favour of `stats_scope`, which the protos we build with do not have yet
    # (Envoy warns on each load; `runtime.envoy_log` keeps that warning at debug level).
    cfg.stat_prefix = STATS_PREFIX
    out = accesslog_pb2.AccessLog(name="envoy.access_loggers.stats")
    out.typed_config.Pack(cfg)
    return out


def _tags(stat: Any, names: Iterable[str]) -> None:
    for name in names:
        tag = stat.tags.add()
        tag.name = name
        tag.value_format = "%RESPONSE_CODE%" if name == CODE_TAG else _identity_format()


def _identity_format() -> str:
    parts = (vhost_field(k) if k in ("gateway", "listener") else route_field(k) for k in ID_PARTS)
    return ID_SEPARATOR.join(parts)
