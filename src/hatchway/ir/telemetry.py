"""Tracing in the IR: what a Gateway's XTelemetryPolicy (GEP-4768) asks of its sockets."""

from __future__ import annotations

from dataclasses import dataclass

from hatchway.ir.origin import Origin


@dataclass(frozen=True, slots=True)
class SpanAttribute:
    """One attribute on every span: exactly one of `header`, `literal`, `attribute` is set.
    `attribute` is a key of the Gateway API attribute dictionary (GEP-5253)."""

    name: str
    header: str | None = None
    literal: str | None = None
    attribute: str | None = None


@dataclass(frozen=True, slots=True)
class Tracing:
    """OpenTelemetry spans exported over OTLP/gRPC to `collector_cluster` (an IR cluster), or,
    with `enabled` False, no spans at all (the policy's `mode: Disabled`)."""

    enabled: bool = True
    # Named `*_cluster` so that `ir.partition` gives a data plane the clusters its tracing uses.
    collector_cluster: str | None = None  # None with `enabled` False
    authority: str = ""  # the collector's name for gRPC's :authority
    # Share of new traces started here (numerator/denominator); requests whose parent
    # span was sampled are traced whatever this says, unless `parent_sampling` cuts them.
    sampling: tuple[int, int] = (100, 100)
    parent_sampling: tuple[int, int] | None = None
    service_name: str = "hatchway"
    span_name: str | None = None
    attributes: tuple[SpanAttribute, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # on each export request (e.g. authorization)
    policy: Origin | None = None  # the XTelemetryPolicy it comes from
