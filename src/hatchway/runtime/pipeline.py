"""The pipeline: loaded objects -> translation -> xDS per data plane -> validation.

One `build` per reload, in a worker thread: pure work but for the per-route memos it keeps
from one build to the next (builds never overlap). A route that Envoy would reject is
quarantined and the rest translated again, so one bad route never holds back a port. With a
data plane per Gateway (`Settings.per_gateway_sockets`), each Gateway's proxies get their own
xDS resources: their listeners, the clusters those use, ports below 1024 bound unprivileged.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hatchway import gcpause, render, xds
from hatchway.ads.tenants import SHARED, Tenant, tenant_of
from hatchway.ir import IR, ROUTE_KINDS, Listener
from hatchway.ir.partition import by_owner, clusters_used
from hatchway.model.documents import InputError
from hatchway.model.refs import ObjectRef
from hatchway.model.snapshot import Snapshot
from hatchway.provision import ListenerPort, container_ports
from hatchway.runtime.quarantine import Quarantined
from hatchway.runtime.quarantine import apply as apply_quarantine
from hatchway.runtime.quarantine import find as find_route
from hatchway.sources.file_source import Loaded
from hatchway.status import StatusReport
from hatchway.translate import Settings as TranslateSettings
from hatchway.translate import TranslateMemo, Translation, translate

Lap = Callable[[str], None]


@dataclass(frozen=True)
class Built:
    partitions: dict[Tenant, xds.XdsResources]  # each data plane's resources
    irs: dict[Tenant, IR]  # and the IR they were built from
    report: StatusReport
    status: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    loaded: Loaded
    model: Snapshot  # what was translated: `loaded`'s snapshot minus quarantined routes
    quarantine: dict[ObjectRef, Quarantined]  # the entries still in force
    ir: IR


class Pipeline:
    def __init__(
        self, default_settings: TranslateSettings, xds_settings: xds.XdsSettings | None = None
    ) -> None:
        self.default_settings = default_settings
        # Deployment choices of the Envoy step (access log, per-route stats).
        self.xds_settings = xds_settings or xds.XdsSettings()
        # Per-route work carried from one build to the next.
        self._memo = TranslateMemo()
        self._status_dicts = render.StatusDicts()
        self._xds_caches: dict[Tenant, xds.BuildCache] = {}
        self._used: dict[int, tuple[Listener, frozenset[str]]] = {}

    def build(
        self,
        loaded: Loaded,
        quarantine: dict[ObjectRef, Quarantined],
        accepted: Snapshot | None,
        keep_serving: bool,
        lap: Lap,
    ) -> tuple[list[InputError], Built | None]:
        """Translate and build `loaded`. None when Envoy would reject the result and
        `keep_serving` (a configuration runs already: keep it rather than trade a clear error
        for a NACK)."""
        # No cyclic GC while building: a full collection over the live configuration costs
        # ~200 ms at 3,000 routes, more than the whole incremental rebuild.
        with gcpause.paused():
            return self._build(loaded, quarantine, accepted, keep_serving, lap)

    def _build(
        self,
        loaded: Loaded,
        quarantine: dict[ObjectRef, Quarantined],
        accepted: Snapshot | None,
        keep_serving: bool,
        lap: Lap,
    ) -> tuple[list[InputError], Built | None]:
        errors = list(loaded.errors)
        settings = loaded.settings or self.default_settings
        # A route `validate` blames is quarantined and the rest translated again (a few
        # rounds at most: each round can only add routes to the quarantine).
        for _ in range(3):
            held = apply_quarantine(loaded.snapshot, quarantine, accepted)
            model, quarantine = held.snapshot, held.active
            translation = translate(model, _with_refusals(settings, held.refused), self._memo)
            lap("translate")
            irs, partitions = self._xds(translation)
            lap("xds")
            problems = [p for res in partitions.values() for p in xds.validate(res)]
            lap("validate")
            if not _quarantine_problems(problems, model, quarantine):
                break
        errors += held.errors
        errors += [_problem_error(p) for p in problems]
        if problems and keep_serving:
            return errors, None
        report = render.report_to_dicts(translation.report, self._status_dicts)
        lap("status")
        built = Built(
            partitions,
            irs,
            translation.report,
            report["resources"],
            report["warnings"],
            loaded,
            model,
            quarantine,
            translation.ir,
        )
        return errors, built

    def _xds(
        self, translation: Translation
    ) -> tuple[dict[Tenant, IR], dict[Tenant, xds.XdsResources]]:
        irs = {
            tenant_of(owner): ir
            for owner, ir in by_owner(translation.ir, self._clusters_used).items()
        }
        out: dict[Tenant, xds.XdsResources] = {}
        for tenant, ir in irs.items():
            cache = self._xds_caches.setdefault(tenant, xds.BuildCache())
            settings = (
                dataclasses.replace(self.xds_settings, bind_ports=_bind_ports(ir))
                if tenant != SHARED
                else self.xds_settings
            )
            out[tenant] = xds.build(ir, settings, cache=cache)
        for gone in set(self._xds_caches) - set(out):
            del self._xds_caches[gone]
        return irs, out

    def _clusters_used(self, listener: Listener) -> frozenset[str]:
        """`clusters_used`, remembered while the very same listener object comes back (an
        unchanged listener is reused by the incremental translation)."""
        hit = self._used.get(id(listener))
        if hit is not None and hit[0] is listener:
            return hit[1]
        used = clusters_used(listener)
        self._used[id(listener)] = (listener, used)
        if len(self._used) > 4 * 1024:
            self._used.clear()
        return used


def _bind_ports(ir: IR) -> tuple[tuple[int, int], ...]:
    """Where a provisioned proxy binds each listener port (the Service maps them back)."""
    ports = [
        ListenerPort(lis.port, "UDP" if lis.protocol.value == "UDP" else "TCP")
        for lis in ir.listeners
    ]
    mapped = container_ports(ports)
    return tuple(sorted({(lp.port, port) for lp, port in mapped.items() if lp.port != port}))


def _with_refusals(settings: TranslateSettings, refused: dict[ObjectRef, str]) -> TranslateSettings:
    return dataclasses.replace(settings, refused_routes=refused) if refused else settings


def _problem_error(p: xds.Problem) -> InputError:
    """A problem Envoy would have, as an input error naming the object it came from."""
    origin = p.origins[0] if p.origins else None
    return InputError(
        None,
        None,
        origin.kind if origin else None,
        origin.namespace if origin else None,
        origin.name if origin else None,
        None,
        f"{xds.SHORT_NAMES.get(p.type_url, p.type_url)} {p.resource}: {p.message}",
    )


def _quarantine_problems(
    problems: list[xds.Problem], model: Snapshot, quarantine: dict[ObjectRef, Quarantined]
) -> bool:
    """Quarantine the route a `validate` problem is pinned on; whether any was added.

    Only a problem with a single route behind it (a bad regex, a dangling cluster) is pinned;
    one between virtual hosts (a duplicate domain) names many routes and is left as it is."""
    added = False
    for p in problems:
        keys = {(o.kind, o.namespace or "", o.name) for o in p.origins if o.kind in ROUTE_KINDS}
        if len(keys) != 1:
            continue
        for key in keys - set(quarantine):
            obj = find_route(model, key)
            if obj is not None:
                what = xds.SHORT_NAMES.get(p.type_url, p.type_url)
                quarantine[key] = Quarantined(obj.spec, f"{what} {p.resource}: {p.message}")
                added = True
    return added


class Stopwatch:
    """Seconds per stage of one reload (for the log), and the CPU it took."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self._clock = time.perf_counter()
        self._cpu = time.thread_time()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage] = now - self._clock
        self._clock = now
        if stage == "status":
            self.stages["cpu"] = time.thread_time() - self._cpu
