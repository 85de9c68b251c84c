"""The engine both `serve` and the controller run: a source's objects through the pipeline to
the publisher, and the data planes' verdicts back into status, readiness and quarantine.

`reload()`: load -> build (pipeline, in a worker thread) -> publish, unless nothing changed
or the result would be rejected while a configuration already runs. Input errors are
contained per object (the source keeps the last good version of what is invalid), so every
other change still goes live. A route a proxy rejects is quarantined and the configuration
republished without it (its last accepted version keeps serving, if it has one).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from hatchway import render, xds
from hatchway.ads.tenants import SHARED, Tenant
from hatchway.ads.verdict import AckState, Outcome, Rejection, clip, describe
from hatchway.ir import Origin
from hatchway.model.documents import InputError
from hatchway.model.refs import ObjectRef, shown
from hatchway.model.shown import cut
from hatchway.model.snapshot import Snapshot
from hatchway.runtime import culprit
from hatchway.runtime.admin import Readiness
from hatchway.runtime.idle_gc import IdleCollector
from hatchway.runtime.metrics import Metrics
from hatchway.runtime.pipeline import Built, Pipeline, Stopwatch
from hatchway.runtime.publisher import Published, Publisher
from hatchway.runtime.quarantine import Quarantined, culprits
from hatchway.runtime.quarantine import find as find_route
from hatchway.runtime.verdicts import blamed_objects, served_by, verdict_of
from hatchway.sources import clock
from hatchway.sources.file_source import InputSource
from hatchway.status import StatusReport
from hatchway.status.findings import Finding
from hatchway.status.problems import Problem, problems
from hatchway.status.transitions import TransitionClock
from hatchway.status.verdict import apply_verdicts

log = logging.getLogger("hatchway.engine")


class Engine:
    def __init__(
        self,
        source: InputSource,
        pipeline: Pipeline,
        publisher: Publisher,
        stats: Metrics,
        *,
        envoy_admin: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.source = source
        self.pipeline = pipeline
        self.publisher = publisher
        self.stats = stats
        self._envoy_admin = envoy_admin  # a local Envoy's admin, for checks in validate mode
        self._clock = TransitionClock()
        self._errors: list[dict[str, Any]] = []
        # Why the last reload failed for an unexpected reason (a bug), until one succeeds.
        self._failure: str | None = None
        self._config_cache: tuple[int, dict[str, Any]] | None = None
        self._status_cache: dict[bool, tuple[tuple[object, ...], dict[str, Any]]] = {}
        self._ack_waiter: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()
        self._logged_warnings: set[tuple[str, str, str]] = set()
        self._quarantine: dict[ObjectRef, Quarantined] = {}
        self._accepted_model: Snapshot | None = None  # the input of the last ACKed generation
        self._tasks: set[asyncio.Task[Any]] = set()
        self.gc = IdleCollector(busy=self.lock.locked)
        self.before_load: Callable[[], None] = lambda: None

    @property
    def generation(self) -> int:
        """The newest published generation (0 before the first publish)."""
        return self.publisher.generation

    @property
    def published(self) -> Published | None:
        return self.publisher.published

    # --- reloading --------------------------------------------------------------------------

    async def reload(self) -> bool:
        """Load the inputs and publish the result unless a proxy would reject it or it is
        what already runs. Returns whether a new generation was published.

        Never raises: a reload that fails for an unexpected reason (a bug) is reported on
        `/errors` and `/readyz`, the last good configuration keeps serving, and the next
        reload starts afresh."""
        async with self.lock:
            try:
                published = await self._reload()
            except Exception as exc:
                self.reload_failed("reload", exc)
                return False
            self._failure = None
            return published

    def reload_failed(self, what: str, exc: BaseException) -> None:
        """Report a failure of the pipeline itself (not of the input): on `/errors`, on
        `/readyz` and in the log, until a reload succeeds."""
        log.error("%s failed; still serving the previous configuration", what, exc_info=exc)
        self.stats.reloads.labels("failed").inc()
        serving = self.published
        fate = (
            f"still serving generation {serving.generation}"
            if serving is not None
            else "nothing is served yet"
        )
        self._failure = cut(f"internal error: {what} failed ({type(exc).__name__}: {exc}); {fate}")
        entry = InputError(None, None, None, None, None, None, self._failure).to_dict()
        self._errors = [*(e for e in self._errors if not _is_failure(e)), entry]

    async def _reload(self) -> bool:
        self.before_load()
        started = time.perf_counter()
        watch, result = await asyncio.to_thread(
            self._build, dict(self._quarantine), self._accepted_model
        )
        self.stats.translation_seconds.observe(time.perf_counter() - started)
        errors, built = result
        self._errors = [e.to_dict() for e in errors]
        self.stats.input_errors.set(len(errors))
        for e in errors:
            log.error("input: %s", e)
        if built is None:
            self.stats.reloads.labels("kept_last_good").inc()
            if self.published is not None:
                log.warning(
                    "the data plane would reject the new configuration; still serving "
                    "generation %d",
                    self.published.generation,
                )
            return False
        self.source.commit(built.loaded)
        self._quarantine = built.quarantine
        if self.publisher.unchanged(built):
            self.stats.reloads.labels("unchanged").inc()
            log.info("inputs changed but the configuration did not; nothing to publish")
            return False
        published = self.publisher.publish(built)
        self.stats.reloads.labels("published").inc()
        self.stats.generation.set(published.generation)
        self.stats.set_resources(built.status)
        self._report_warnings(built.warnings)
        log.info(
            "published generation %d (%d xDS resources, %d data planes) in %.1f ms (%s)",
            published.generation,
            published.size(),
            len(published.snapshots),
            (time.perf_counter() - started) * 1000,
            ", ".join(f"{k} {v * 1000:.1f}" for k, v in watch.stages.items()),
        )
        self._watch_ack(published)
        return True

    def _build(
        self, quarantine: dict[ObjectRef, Quarantined], accepted: Snapshot | None
    ) -> tuple[Stopwatch, tuple[list[InputError], Built | None]]:
        """In a worker thread: read the source, then the pipeline."""
        watch = Stopwatch()
        loaded = self.source.load()
        watch.lap("load")
        keep = self.published is not None
        return watch, self.pipeline.build(loaded, quarantine, accepted, keep, watch.lap)

    def _report_warnings(self, warnings: list[dict[str, Any]]) -> None:
        """Log each warning once, when it first appears; count them all for `/metrics`."""
        seen = {(w["object"], w["code"], w["message"]) for w in warnings}
        levels = {"error": logging.WARNING, "warning": logging.WARNING, "info": logging.INFO}
        for w in warnings:
            if (w["object"], w["code"], w["message"]) not in self._logged_warnings:
                log.log(
                    levels.get(w["severity"], logging.WARNING),
                    "%s: %s: %s [%s]",
                    w["severity"],
                    w["object"],
                    w["message"],
                    w["code"],
                )
        self._logged_warnings = seen
        self.stats.set_warnings(warnings)

    # --- the data planes' verdicts ----------------------------------------------------------

    def _watch_ack(self, published: Published) -> None:
        if self._ack_waiter is not None:
            self._ack_waiter.cancel()
        self._ack_waiter = asyncio.create_task(self._log_acks(published))

    async def _log_acks(self, published: Published) -> None:
        started = time.perf_counter()
        gen = published.generation
        waits = {
            t: asyncio.create_task(self.publisher.server.wait_acked(gen, t))
            for t in published.snapshots
        }
        try:
            for tenant, waiter in waits.items():
                outcome = await waiter
                self._answered(published, tenant, outcome, time.perf_counter() - started)
        finally:
            for waiter in waits.values():
                waiter.cancel()
        if self.publisher.all_acked():
            if self.published is published:
                self._accepted_model = published.model
            self.stats.acked_generation.set(gen)
            self.gc.schedule()

    def _answered(
        self, published: Published, tenant: Tenant, outcome: Outcome, seconds: float
    ) -> None:
        who = "Envoy" if tenant == SHARED else f"Gateway {tenant}'s proxies"
        gen = published.generation
        if outcome.state is AckState.ACKED:
            self.stats.observe_ack(seconds)
            log.info("%s run generation %d (%.1f ms after publish)", who, gen, seconds * 1000)
            return
        origins = self.publisher.origins(tenant)
        for rej in outcome.rejected:
            refs = ", ".join(blamed_objects(rej, origins))
            log.error("generation %d, %s: %s (from %s)", gen, who, describe(rej), refs)
        if self.published is published:
            self._quarantine_rejected(outcome.rejected, published, tenant)

    def _quarantine_rejected(
        self, rejected: tuple[Rejection, ...], published: Published, tenant: Tenant
    ) -> None:
        """Pin each rejection on the routes that caused it, if possible, and republish
        without them: one bad route must not freeze every update on its port. A rejected
        RouteConfiguration whose message quotes nothing that pins a route is bisected
        offline with Envoy's validate mode (`runtime.culprit`)."""
        resources = published.partitions[tenant]
        added: list[str] = []
        unpinned: list[Rejection] = []
        for rej in rejected:
            found = culprits(rej, resources)
            if not found and rej.type_url == xds.ROUTE:
                unpinned.append(rej)
            added += self._hold(found, describe(rej), published)
        if added:
            log.warning("quarantined %s; republishing without them", ", ".join(added))
            self._spawn(self.reload(), "quarantine-reload")
        if unpinned:
            self._spawn(self._bisect(unpinned, published, resources), "bisect")

    def _hold(self, found: list[Origin], message: str, published: Published) -> list[str]:
        added: list[str] = []
        for o in found:
            key = (o.kind, o.namespace or "", o.name)
            obj = find_route(published.model, key)
            if obj is None or key in self._quarantine:
                continue
            self._quarantine[key] = Quarantined(obj.spec, message)
            added.append(shown(key))
        return added

    async def _bisect(
        self, rejected: list[Rejection], published: Published, resources: xds.XdsResources
    ) -> None:
        try:
            runtime = await culprit.runtime_values(self._envoy_admin())
            added: list[str] = []
            for rej in rejected:
                found = await culprit.find(rej, resources, runtime)
                if not found:
                    log.warning("%s: no single route to blame (checked by halves)", describe(rej))
                added += self._hold(found, describe(rej), published)
        except Exception as exc:  # the search is a best effort: say so, never end serving
            log.error("finding the route Envoy rejected failed", exc_info=exc)
            return
        if added:
            log.warning("quarantined %s (found by halves); republishing", ", ".join(added))
            await self.reload()

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def stop(self) -> None:
        self.gc.cancel()
        for task in (self._ack_waiter, *self._tasks):
            if task is not None:
                task.cancel()

    # --- what the admin API shows -----------------------------------------------------------

    def readiness(self, tenant: Tenant = SHARED) -> Readiness:
        """Ready when the tenant's data plane runs the newest generation."""
        ready = self._readiness(tenant)
        if self._failure is None:
            return ready
        # Said, but not a reason to stop serving what runs: readiness reflects only what
        # cannot serve at all (taking every replica out would turn a bug into an outage).
        failure = {"type": "reload", "message": self._failure}
        return Readiness(
            ready.ready,
            f"{ready.reason}; {self._failure}",
            ready.generation,
            (*ready.details, failure),
        )

    def _readiness(self, tenant: Tenant) -> Readiness:
        gen = self.generation
        if self.published is None:
            return Readiness(False, "no configuration loaded yet", gen)
        outcome = self.publisher.outcome(tenant)
        if outcome.state is AckState.ACKED:
            return self.serving_readiness(f"Envoy runs generation {gen}")
        if outcome.state is AckState.NACKED:
            origins = self.publisher.origins(tenant)
            details = tuple(
                {
                    "type": xds.SHORT_NAMES.get(r.type_url, r.type_url),
                    "name": r.name,
                    "message": clip(r.message),
                    "objects": blamed_objects(r, origins),
                }
                for r in outcome.rejected
            )
            reasons = "; ".join(
                f"{describe(r)} (from {', '.join(d['objects']) or 'unknown objects'})"
                for r, d in zip(outcome.rejected, details, strict=True)
            )
            return Readiness(False, f"generation {gen}: {reasons}", gen, details)
        return Readiness(False, f"generation {gen}: {outcome.reason}", gen)

    def serving_readiness(self, reason: str) -> Readiness:
        """Ready; what does not serve is named in the reason, but does not make it 503: a
        gateway with nothing to serve yet (a fresh install, a Gateway waiting for its
        certificate) must not fail its Pod's probe."""
        found = self.problems()
        nothing = next((p for p in found if p.code == Finding.NOTHING_SERVED), None)
        if nothing is not None:
            reason += f"; nothing to serve: {nothing.message}"
        elif found:
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            reason += f"; {len(found)} problems on /errors, first: {found[0]}{more}"
        return Readiness(True, reason, self.generation)

    def status(
        self, overrides: dict[Tenant, Outcome] | None = None, *, stamped: bool = True
    ) -> dict[str, Any]:
        """The status document with each data plane's verdict in `Programmed` (applied to the
        typed report, then rendered), stamped with transition times unless the caller keeps
        its own (`stamped=False`: the controller's are the API server's objects); cached per
        generation and verdicts (callers must not modify it). `overrides` replaces verdicts
        (e.g. PENDING while a local Envoy is not running)."""
        published = self.published
        if published is None:
            return {"resources": [], "warnings": []}
        outcomes = {**self.publisher.outcomes(), **(overrides or {})}
        key = (published, tuple(sorted(outcomes.items())), stamped)
        cached = self._status_cache.get(stamped)
        if cached is None or cached[0] != key:
            verdicts = (
                verdict_of(o, self.publisher.origins(t), served_by(t, published.model))
                for t, o in outcomes.items()
            )
            report = apply_verdicts(published.report, verdicts)
            resources = _rendered(report, published)
            if stamped:
                resources = self._clock.stamp(resources, clock.now_rfc3339())
            cached = (key, {"resources": resources, "warnings": published.warnings})
            self._status_cache[stamped] = cached
        return cached[1]

    def errors(self) -> list[dict[str, Any]]:
        """Input errors, then what keeps the published configuration from serving fully
        (negative conditions, error-severity warnings): `GET /errors`."""
        out = [
            {
                **e,
                "code": "InternalError" if _is_failure(e) else "InvalidInput",
                "severity": "error",
            }
            for e in self._errors
        ]
        return out + [p.to_error() for p in self.problems()]

    def problems(self) -> list[Problem]:
        if self.published is None:
            return []
        doc = self.status()
        return problems(doc["resources"], doc["warnings"])

    def config(self) -> dict[str, Any]:
        """The xDS resources served; with a data plane per Gateway, keyed by Gateway."""
        published = self.published
        if published is None:
            return {}
        # Converting protos to dicts is slow for big configs: once per generation.
        if self._config_cache is None or self._config_cache[0] != published.generation:
            if set(published.partitions) == {SHARED}:
                doc: dict[str, Any] = xds.to_dicts(published.partitions[SHARED])
            else:
                doc = {"gateways": {t: xds.to_dicts(r) for t, r in published.partitions.items()}}
            self._config_cache = (published.generation, doc)
        return self._config_cache[1]


def _rendered(report: StatusReport, published: Published) -> list[dict[str, Any]]:
    """`report` as dicts: those of `published` for every status the verdicts left alone."""
    if report is published.report:
        return published.status
    return [
        rendered if r is before else render.resource_to_dict(r)
        for r, before, rendered in zip(
            report.resources, published.report.resources, published.status, strict=True
        )
    ]


def _is_failure(error: dict[str, Any]) -> bool:
    return error.get("kind") is None and str(error.get("message", "")).startswith(
        "internal error: "
    )
