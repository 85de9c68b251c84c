"""Control-plane metrics for `GET /metrics` (Prometheus text format).

One registry per running gateway (not the process-global one), so several gateways or tests in
one process do not share counters.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from hatchway.ads.verdict import XdsEvent
from hatchway.runtime.route_metrics import DataPlaneMetrics, register_common
from hatchway.xds import SHORT_NAMES

# `_created` series double every counter's and histogram's series for a timestamp nobody
# graphs; process-wide, as prometheus_client offers it.
disable_created_metrics()


class Metrics:
    def __init__(self) -> None:
        self._resource_dicts: Iterable[dict[str, Any]] = ()
        self._counted = True
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.translation_seconds = Histogram(
            "hatchway_translation_seconds",
            "Time to load, translate and build the xDS configuration from the inputs",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.reloads = Counter(
            "hatchway_reloads", "Input reloads by result", ["result"], registry=r
        )
        self.generation = Gauge(
            "hatchway_config_generation", "Newest configuration generation published", registry=r
        )
        self.acked_generation = Gauge(
            "hatchway_config_acked_generation",
            "Newest configuration generation Envoy acknowledged",
            registry=r,
        )
        self.pushes = Counter(
            "hatchway_xds_pushes", "xDS responses sent to Envoy", ["type"], registry=r
        )
        self.acks = Counter("hatchway_xds_acks", "xDS ACKs from Envoy", ["type"], registry=r)
        self.nacks = Counter("hatchway_xds_nacks", "xDS NACKs from Envoy", ["type"], registry=r)
        self.input_errors = Gauge(
            "hatchway_input_errors", "Current input errors (see GET /errors)", registry=r
        )
        self.resources = Gauge(
            "hatchway_resources",
            "Owned Gateway API resources by kind and top-level condition",
            ["kind", "condition", "status"],
            registry=r,
        )
        self.envoy_restarts = Counter(
            "hatchway_envoy_restarts", "Envoy restarts after it exited unexpectedly", registry=r
        )
        self.warnings = Gauge(
            "hatchway_warnings",
            "Current warnings about the input (see GET /status), by code and severity",
            ["code", "severity"],
            registry=r,
        )
        self.ack_seconds = Histogram(
            "hatchway_xds_ack_seconds",
            "From publishing a generation to a data plane acknowledging it",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        register_common(r)
        self.dataplane = DataPlaneMetrics()  # rendered beside the registry (see `render`)

    def observe_ack(self, seconds: float) -> None:
        self.ack_seconds.observe(seconds)

    def set_warnings(self, warnings: Iterable[dict[str, Any]]) -> None:
        tally = Tally((str(w["code"]), str(w["severity"])) for w in warnings)
        self.warnings.clear()
        for (code, severity), n in tally.items():
            self.warnings.labels(code, severity).set(n)

    def pushed(self, type_url: str) -> None:
        self.pushes.labels(SHORT_NAMES.get(type_url, type_url)).inc()

    def answered(self, event: XdsEvent) -> None:
        (self.acks if event.ack else self.nacks).labels(event.kind).inc()

    def set_resources(self, resources: Iterable[dict[str, Any]]) -> None:
        """The resources (status dicts) to count by kind and condition status. Counted when
        `/metrics` is read, not here: this runs between publishing and sending a generation."""
        self._resource_dicts = resources
        self._counted = False

    def _count_resources(self) -> None:
        if self._counted:
            return
        self._counted = True
        tally: Tally[tuple[str, str, str]] = Tally()
        for res in self._resource_dicts:
            kind = str(res.get("kind"))
            status = res.get("status", {})
            conditions = list(status.get("conditions", []))
            for parent in status.get("parents", []):
                conditions.extend(parent.get("conditions", []))
            for anc in status.get("ancestors", []):
                conditions.extend(anc.get("conditions", []))
            for c in conditions:
                tally[(kind, str(c.get("type")), str(c.get("status")))] += 1
        self.resources.clear()
        for (kind, ctype, cstatus), n in tally.items():
            self.resources.labels(kind, ctype, cstatus).set(n)

    def render(self) -> bytes:
        """The text of `/metrics` (call `dataplane.refresh` first for fresh Envoy stats)."""
        self._count_resources()
        return bytes(generate_latest(self.registry)) + self.dataplane.render().encode()
