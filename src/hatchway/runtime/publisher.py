"""The publisher: built configurations become numbered generations on the xDS server, one
snapshot per data plane, and the proxies' verdicts come back per data plane.

Knows nothing of how a configuration was built (`runtime.pipeline`) nor of what is done with
the verdict (status, readiness, quarantine: `runtime.engine`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hatchway import xds
from hatchway.ads.snapshot import XdsSnapshot, from_resources
from hatchway.ads.tenants import SHARED, Tenant
from hatchway.ads.verdict import AckState, Outcome
from hatchway.ir import IR
from hatchway.model.snapshot import Snapshot
from hatchway.runtime.pipeline import Built
from hatchway.runtime.xds_server import XdsServer
from hatchway.status import StatusReport


@dataclass(frozen=True)
class Published:
    generation: int
    snapshots: dict[Tenant, XdsSnapshot]
    partitions: dict[Tenant, xds.XdsResources]
    irs: dict[Tenant, IR]
    status: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    model: Snapshot
    # The whole IR and report it was built from (the console's explain walks them).
    ir: IR = field(default_factory=IR)
    report: StatusReport = field(default_factory=StatusReport)

    def snapshot(self, tenant: Tenant = SHARED) -> XdsSnapshot | None:
        return self.snapshots.get(tenant)

    def size(self) -> int:
        return sum(s.size() for s in self.snapshots.values())


class Publisher:
    def __init__(self, server: XdsServer) -> None:
        self.server = server
        self.published: Published | None = None

    @property
    def generation(self) -> int:
        return self.published.generation if self.published is not None else 0

    def unchanged(self, built: Built) -> bool:
        """Whether `built` is what runs already (same resources, status and warnings)."""
        last = self.published
        if last is None or set(last.partitions) != set(built.partitions):
            return False
        same = all(
            dict(res.versions) == dict(last.partitions[t].versions)
            for t, res in built.partitions.items()
        )
        return same and built.status == last.status and built.warnings == last.warnings

    def publish(self, built: Built) -> Published:
        generation = self.generation + 1
        before = self.published.snapshots if self.published is not None else {}
        snapshots = {
            t: from_resources(generation, res, before.get(t)) for t, res in built.partitions.items()
        }
        self.published = Published(
            generation,
            snapshots,
            built.partitions,
            built.irs,
            built.status,
            built.warnings,
            built.model,
            built.ir,
            built.report,
        )
        self.server.publish(generation, snapshots)
        return self.published

    def outcome(self, tenant: Tenant = SHARED, generation: int | None = None) -> Outcome:
        gen = self.generation if generation is None else generation
        return self.server.outcome(gen, tenant)

    def outcomes(self) -> dict[Tenant, Outcome]:
        """The verdict of every data plane on the newest generation."""
        if self.published is None:
            return {}
        return {t: self.outcome(t) for t in self.published.snapshots}

    def all_acked(self) -> bool:
        return all(o.state is AckState.ACKED for o in self.outcomes().values())

    def origins(self, tenant: Tenant = SHARED) -> Any:
        snap = self.published.snapshot(tenant) if self.published else None
        return snap.origins if snap is not None else {}
