"""`hatchway serve`: files in, Envoy out, kept in step until SIGTERM.

load -> translate -> xds.build -> validate -> publish (a new generation over ADS). When the
input has errors and a configuration is already running, the running one stays (the errors
show on `/errors`, in the log and in `/readyz`'s neighbour `/status`). Envoy's verdict on each
generation flows back into status (`Programmed`) and readiness.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import secrets
import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

from hatchway import render, xds
from hatchway.ir import Origin
from hatchway.model import gcpause
from hatchway.model.inputs import InputError
from hatchway.model.shown import cut
from hatchway.model.snapshot import Snapshot
from hatchway.runtime import culprit
from hatchway.runtime.admin import AdminServer, Readiness
from hatchway.runtime.delta import AckState, Rejection, XdsEvent
from hatchway.runtime.envoy import Envoy, EnvoySettings
from hatchway.runtime.idle_gc import IdleCollector
from hatchway.runtime.inputs import FileSource, InputSource, Loaded
from hatchway.runtime.memory import default_max_heap
from hatchway.runtime.metrics import Metrics
from hatchway.runtime.programmed import (
    TransitionClock,
    apply_outcome,
    blamed_objects,
    clip,
    describe,
)
from hatchway.runtime.quarantine import ROUTE_KINDS, ObjKey, Quarantined, culprits
from hatchway.runtime.quarantine import apply as apply_quarantine
from hatchway.runtime.quarantine import find as find_route
from hatchway.runtime.route_metrics import envoy_text
from hatchway.runtime.state_dir import StateDir
from hatchway.runtime.xds_server import XdsServer
from hatchway.runtime.xds_snapshot import XdsSnapshot, from_resources
from hatchway.sources.watch import Fingerprint, fingerprint, watch_paths
from hatchway.status.findings import Finding
from hatchway.status.problems import Problem, problems
from hatchway.translate import Settings as TranslateSettings
from hatchway.translate import TranslateMemo, translate
from hatchway.xds.bootstrap import BootstrapSettings, bootstrap
from hatchway.xds.telemetry import AccessLog

log = logging.getLogger("hatchway.serve")

# Each stops the gateway cleanly (drain, remove the state directory); SIGHUP is what a
# closing terminal sends.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# A scrape waits this long for Envoy's stats (then shows the last ones read).
_ENVOY_STATS_TIMEOUT = aiohttp.ClientTimeout(total=5)


@dataclass(frozen=True)
class ServeSettings:
    paths: tuple[str, ...]
    admin_host: str = "127.0.0.1"
    admin_port: int = 19000
    # A scrape-only server (/metrics, /healthz, /readyz), e.g. on 0.0.0.0 in a pod; None: none.
    metrics_address: tuple[str, int] | None = None
    bind_address: str = "0.0.0.0"
    state_dir: str | None = None  # default: a temporary directory, removed on exit
    envoy_concurrency: int | None = None
    envoy_drain_time_s: int = 5
    envoy_log_level: str = "info"
    watch: bool = True
    # Envoy's node id, the one the xDS server accepts; default: random per run.
    node_id: str | None = None
    # Process-wide cap on downstream connections (Envoy's overload manager); beyond it new
    # connections are closed at accept while existing ones keep working.
    max_connections: int = 50_000
    # Envoy's heap budget for its overload actions; None: from the memory limit
    # (`runtime.memory`).
    max_heap_bytes: int | None = None
    # Envoy's access log (None: off); by default JSON lines on serve's stdout.
    access_log: AccessLog | None = dataclasses.field(default_factory=AccessLog)


@dataclass(frozen=True)
class _Built:
    resources: xds.XdsResources
    status: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    loaded: Loaded
    model: Snapshot  # what was translated: `loaded`'s snapshot minus quarantined routes
    quarantine: dict[ObjKey, Quarantined]  # the entries still in force


@dataclass(frozen=True)
class _Published:
    snapshot: XdsSnapshot
    resources: xds.XdsResources
    status: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    model: Snapshot


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class GatewayRuntime:
    """The running gateway: owns the xDS server, Envoy, the admin API and the current state."""

    def __init__(self, settings: ServeSettings, source: InputSource | None = None) -> None:
        self.settings = settings
        self.stats = Metrics()
        self.xds = XdsServer(
            settings.node_id or f"hatchway-{secrets.token_hex(8)}",
            on_event=self._on_event,
            on_push=self._on_push,
        )
        self.admin = AdminServer(self, settings.admin_host, settings.admin_port)
        self.scrape = (
            AdminServer(self, *settings.metrics_address, scrape_only=True)
            if settings.metrics_address
            else None
        )
        self.envoy: Envoy | None = None
        self.source: InputSource = source if source is not None else FileSource(settings.paths)
        self._clock = TransitionClock()
        self._published: _Published | None = None
        self._errors: list[dict[str, Any]] = []
        # Why the last reload failed for an unexpected reason (a bug), until one succeeds.
        self._failure: str | None = None
        self._generation = 0
        self._config_cache: tuple[int, dict[str, Any]] | None = None
        self._status_cache: tuple[tuple[object, object], dict[str, Any]] | None = None
        self._ack_waiter: asyncio.Task[None] | None = None
        self._reload_lock = asyncio.Lock()
        self._loaded_fingerprint: Fingerprint = ()
        self._logged_warnings: set[tuple[str, str, str]] = set()
        self._quarantine: dict[ObjKey, Quarantined] = {}
        self._accepted_model: Snapshot | None = None  # the input of the last ACKed generation
        self._requarantine: asyncio.Task[bool] | None = None
        self._bisecting: asyncio.Task[None] | None = None
        self._gc = IdleCollector(busy=self._reload_lock.locked)
        # Per-route work carried from one reload to the next (reloads never overlap).
        self._translate_memo = TranslateMemo()
        self._status_dicts = render.StatusDicts()
        self._xds_cache = xds.BuildCache()
        self._xds_settings = xds.XdsSettings(access_log=settings.access_log)

    @property
    def generation(self) -> int:
        """The newest published generation (0 before the first publish)."""
        return self._generation

    # --- the pipeline -----------------------------------------------------------------------

    async def reload(self) -> bool:
        """Load the inputs and publish the result unless Envoy would reject it or it is
        what already runs. Returns whether a new generation was published.

        Never raises: a reload that fails for an unexpected reason (a bug) is reported on
        `/errors` and `/readyz`, the last good configuration keeps serving, and the next
        reload starts afresh."""
        async with self._reload_lock:
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
        serving = self._published
        fate = (
            f"still serving generation {serving.snapshot.generation}"
            if serving is not None
            else "nothing is served yet"
        )
        self._failure = cut(f"internal error: {what} failed ({type(exc).__name__}: {exc}); {fate}")
        entry = InputError(None, None, None, None, None, None, self._failure).to_dict()
        self._errors = [*(e for e in self._errors if not _is_failure(e)), entry]

    async def _reload(self) -> bool:
        # Taken before reading: a save during the load shows up as a difference later.
        self._loaded_fingerprint = fingerprint(self.settings.paths)
        started = time.perf_counter()
        stages: dict[str, float] = {}
        result = await asyncio.to_thread(
            self._build, stages, dict(self._quarantine), self._accepted_model
        )
        self.stats.translation_seconds.observe(time.perf_counter() - started)
        errors, built = result
        self._errors = [e.to_dict() for e in errors]
        self.stats.input_errors.set(len(errors))
        for e in errors:
            log.error("input: %s", e)
        if built is None:
            self.stats.reloads.labels("kept_last_good").inc()
            if self._published is not None:
                log.warning(
                    "Envoy would reject the new configuration; still serving generation %d",
                    self._published.snapshot.generation,
                )
            return False
        # Input errors are contained per object (the source keeps the last good version of
        # what is invalid), so everything else still goes live.
        resources, status, warnings = built.resources, built.status, built.warnings
        self.source.commit(built.loaded)
        self._quarantine = built.quarantine
        last = self._published
        if (
            last is not None
            and dict(resources.versions) == dict(last.resources.versions)
            and status == last.status
            and warnings == last.warnings
        ):
            self.stats.reloads.labels("unchanged").inc()
            log.info("inputs changed but the configuration did not; nothing to publish")
            return False
        self._generation += 1
        snapshot = from_resources(self._generation, resources)
        self._published = _Published(snapshot, resources, status, warnings, built.model)
        self.xds.publish(snapshot)
        self.stats.reloads.labels("published").inc()
        self.stats.generation.set(self._generation)
        self.stats.set_resources(status)
        self._report_warnings(warnings)
        log.info(
            "published generation %d (%d xDS resources) in %.1f ms (%s)",
            self._generation,
            snapshot.size(),
            (time.perf_counter() - started) * 1000,
            ", ".join(f"{k} {v * 1000:.1f}" for k, v in stages.items()),
        )
        self._watch_ack(self._generation)
        return True

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

    def _build(
        self,
        stages: dict[str, float],
        quarantine: dict[ObjKey, Quarantined],
        accepted: Snapshot | None,
    ) -> tuple[list[InputError], _Built | None]:
        # No cyclic GC while building: a full collection over the live configuration costs
        # ~200 ms at 3,000 routes, more than the whole incremental rebuild. Garbage is
        # collected once Envoy runs the result and changes pause (`IdleCollector`).
        with gcpause.paused():
            return self._build_unpaused(stages, quarantine, accepted)

    def _build_unpaused(
        self,
        stages: dict[str, float],
        quarantine: dict[ObjKey, Quarantined],
        accepted: Snapshot | None,
    ) -> tuple[list[InputError], _Built | None]:
        """Runs in a worker thread: pure work plus file reads, no shared state written
        (but for the translation memo, which only reloads use, one at a time).
        `stages` receives the seconds each step took, for the log."""
        clock = time.perf_counter()
        cpu0 = time.thread_time()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            stages[stage] = now - clock
            clock = now

        loaded = self.source.load()
        lap("load")
        errors = list(loaded.errors)
        translate_settings = loaded.settings or TranslateSettings(
            bind_address=self.settings.bind_address
        )
        # A route `validate` blames is quarantined and the rest translated again (a few
        # rounds at most: each round can only add routes to the quarantine).
        for _ in range(3):
            held = apply_quarantine(loaded.snapshot, quarantine, accepted)
            model, quarantine = held.snapshot, held.active
            settings = (
                dataclasses.replace(translate_settings, refused_routes=held.refused)
                if held.refused
                else translate_settings
            )
            translation = translate(model, settings, self._translate_memo)
            lap("translate")
            resources = xds.build(translation.ir, self._xds_settings, self._xds_cache)
            lap("xds")
            problems = xds.validate(resources)
            lap("validate")
            if not _quarantine_problems(problems, model, quarantine):
                break
        errors += held.errors
        for p in problems:
            # Envoy would reject these; publishing would only trade a clear error for a NACK.
            origin = p.origins[0] if p.origins else None
            errors.append(
                InputError(
                    None,
                    None,
                    origin.kind if origin else None,
                    origin.namespace if origin else None,
                    origin.name if origin else None,
                    None,
                    f"{xds.SHORT_NAMES.get(p.type_url, p.type_url)} {p.resource}: {p.message}",
                )
            )
        if problems and self._published is not None:
            return errors, None
        report = render.report_to_dicts(translation.report, self._status_dicts)
        lap("status")
        stages["cpu"] = time.thread_time() - cpu0
        return errors, _Built(
            resources, report["resources"], report["warnings"], loaded, model, quarantine
        )

    def _watch_ack(self, generation: int) -> None:
        if self._ack_waiter is not None:
            self._ack_waiter.cancel()
        self._ack_waiter = asyncio.create_task(self._log_ack(generation))

    async def _log_ack(self, generation: int) -> None:
        started = time.perf_counter()
        outcome = await self.xds.wait_acked(generation)
        ms = (time.perf_counter() - started) * 1000
        published = self._published
        if outcome.state is AckState.ACKED:
            self.stats.acked_generation.set(generation)
            self.stats.ack_seconds.observe(ms / 1000)
            if published is not None and published.snapshot.generation == generation:
                self._accepted_model = published.model
            log.info("Envoy runs generation %d (%.1f ms after publish)", generation, ms)
            self._gc.schedule()
            return
        for rej in outcome.rejected:
            refs = ", ".join(blamed_objects(rej, self._origins()))
            log.error("generation %d: %s (from %s)", generation, describe(rej), refs)
        if published is not None and published.snapshot.generation == generation:
            self._quarantine_rejected(outcome.rejected, published)

    def _quarantine_rejected(self, rejected: tuple[Rejection, ...], published: _Published) -> None:
        """Pin each rejection on the routes that caused it, if possible, and republish
        without them: one bad route must not freeze every update on its port. A rejected
        RouteConfiguration whose message quotes nothing that pins a route is bisected
        offline with Envoy's validate mode (`runtime.culprit`)."""
        added: list[str] = []
        unpinned: list[Rejection] = []
        for rej in rejected:
            found = culprits(rej, published.resources)
            if not found and rej.type_url == xds.ROUTE:
                unpinned.append(rej)
            added += self._hold(found, describe(rej), published)
        if added:
            log.warning("quarantined %s; republishing without them", ", ".join(added))
            self._requarantine = asyncio.create_task(self.reload(), name="quarantine-reload")
        if unpinned and (self._bisecting is None or self._bisecting.done()):
            self._bisecting = asyncio.create_task(self._bisect(unpinned, published), name="bisect")

    def _hold(self, found: list[Origin], message: str, published: _Published) -> list[str]:
        added: list[str] = []
        for o in found:
            key = (o.kind, o.namespace or "", o.name)
            obj = find_route(published.model, key)
            if obj is None or key in self._quarantine:
                continue
            self._quarantine[key] = Quarantined(obj.spec, message)
            added.append(f"{o.kind}/{o.namespace}/{o.name}")
        return added

    async def _bisect(self, rejected: list[Rejection], published: _Published) -> None:
        try:
            runtime = await culprit.runtime_values(self.envoy.admin_url if self.envoy else None)
            added: list[str] = []
            for rej in rejected:
                found = await culprit.find(rej, published.resources, runtime)
                if not found:
                    log.warning("%s: no single route to blame (checked by halves)", describe(rej))
                added += self._hold(found, describe(rej), published)
        except Exception as exc:  # the search is a best effort: say so, never end serving
            log.error("finding the route Envoy rejected failed", exc_info=exc)
            return
        if added:
            log.warning("quarantined %s (found by halves); republishing", ", ".join(added))
            await self.reload()

    def _origins(self) -> Any:
        return self._published.snapshot.origins if self._published else {}

    def _on_event(self, event: XdsEvent) -> None:
        self.stats.answered(event)

    def _on_push(self, resp: Any) -> None:
        self.stats.pushed(resp.type_url)

    # --- admin view -------------------------------------------------------------------------

    def readiness(self) -> Readiness:
        ready = self._readiness()
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

    def _readiness(self) -> Readiness:
        gen = self._generation
        if self._published is None:
            return Readiness(False, "no configuration loaded yet", gen)
        if self.envoy is None or not self.envoy.ready:
            return Readiness(False, "Envoy is not running (or not ready yet)", gen)
        outcome = self.xds.outcome(gen)
        if outcome.state is AckState.ACKED:
            return self._serving_readiness(gen)
        if outcome.state is AckState.NACKED:
            details = tuple(
                {
                    "type": xds.SHORT_NAMES.get(r.type_url, r.type_url),
                    "name": r.name,
                    "message": clip(r.message),
                    "objects": blamed_objects(r, self._origins()),
                }
                for r in outcome.rejected
            )
            reasons = "; ".join(
                f"{describe(r)} (from {', '.join(d['objects']) or 'unknown objects'})"
                for r, d in zip(outcome.rejected, details, strict=True)
            )
            return Readiness(False, f"generation {gen}: {reasons}", gen, details)
        return Readiness(False, f"generation {gen}: {outcome.reason}", gen)

    def _serving_readiness(self, gen: int) -> Readiness:
        """Envoy runs the newest generation: ready. What does not serve is named in the
        reason, but does not make it 503: a gateway with nothing to serve yet (a fresh
        controller, a Gateway waiting for its certificate) must not fail its pod's probe."""
        found = self.problems()
        reason = f"Envoy runs generation {gen}"
        nothing = next((p for p in found if p.code == Finding.NOTHING_SERVED), None)
        if nothing is not None:
            reason += f"; nothing to serve: {nothing.message}"
        elif found:
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            reason += f"; {len(found)} problems on /errors, first: {found[0]}{more}"
        return Readiness(True, reason, gen)

    def status(self) -> dict[str, Any]:
        if self._published is None:
            return {"resources": []}
        outcome = self.xds.outcome(self._published.snapshot.generation)
        if self.envoy is None or not self.envoy.running:
            outcome = type(outcome)(
                AckState.PENDING, outcome.generation, reason="Envoy is not running"
            )
        # The controller asks on every status sync: stamping (a deep copy of thousands of
        # statuses) is done once per published generation and Envoy verdict. The result is
        # shared: callers must not modify it.
        key = (self._published, outcome)
        if self._status_cache is None or self._status_cache[0] != key:
            resources = apply_outcome(self._published.status, outcome, self._origins())
            resources = self._clock.stamp(copy.deepcopy(resources), _now())
            self._status_cache = (
                key,
                {"resources": resources, "warnings": self._published.warnings},
            )
        return self._status_cache[1]

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
        if self._published is None:
            return []
        doc = self.status()
        return problems(doc["resources"], doc["warnings"])

    def config(self) -> dict[str, Any]:
        if self._published is None:
            return {}
        gen = self._published.snapshot.generation
        # Converting protos to dicts is slow for big configs: once per generation.
        if self._config_cache is None or self._config_cache[0] != gen:
            self._config_cache = (gen, xds.to_dicts(self._published.resources))
        return self._config_cache[1]

    async def metrics(self) -> bytes:
        """Control-plane metrics and, read from Envoy now, per-route and per-backend ones."""
        admin = self.envoy.admin_url if self.envoy is not None else None
        if admin is not None:
            async with aiohttp.ClientSession(timeout=_ENVOY_STATS_TIMEOUT) as http:
                await self.stats.dataplane.refresh(http, admin)
        return self.stats.render()

    async def envoy_metrics(self) -> bytes:
        admin = self.envoy.admin_url if self.envoy is not None else None
        if admin is None:
            return b"# Envoy is not running\n"
        async with aiohttp.ClientSession(timeout=_ENVOY_STATS_TIMEOUT) as http:
            try:
                return (await envoy_text(http, admin, ours=False)).encode()
            except (aiohttp.ClientError, TimeoutError) as exc:
                return f"# Envoy's stats not read: {exc}\n".encode()

    # --- lifecycle --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> int:
        s = self.settings
        state = StateDir(s.state_dir)
        watcher: asyncio.Task[None] | None = None
        try:
            # Private (0700): the xDS socket inside is how Envoy, and only Envoy, gets its
            # configuration.
            await self.xds.start(state.path / "xds.sock")
            await self.reload()
            await self.admin.start()
            if self.scrape is not None:
                await self.scrape.start()
            self.envoy = Envoy(
                bootstrap(
                    BootstrapSettings(
                        node_id=self.xds.node_id,
                        xds_socket=str(state.path / "xds.sock"),
                        max_downstream_connections=s.max_connections,
                        max_heap_bytes=s.max_heap_bytes or default_max_heap(),
                    )
                ),
                state.path,
                EnvoySettings(
                    concurrency=s.envoy_concurrency,
                    drain_time_s=s.envoy_drain_time_s,
                    log_level=s.envoy_log_level,
                ),
                on_restart=lambda n: self.stats.envoy_restarts.inc(),
            )
            await self.envoy.start()
            if s.watch:
                watcher = asyncio.create_task(self._watch(stop), name="watch-inputs")
                # A save between the first load and the watcher arming would be missed.
                await asyncio.sleep(0.1)
                if fingerprint(s.paths) != self._loaded_fingerprint:
                    await self.reload()
            log.info("serving; admin API on http://%s:%d", s.admin_host, self.admin.port)
            await stop.wait()
            log.info("shutting down")
            return 0
        except (OSError, RuntimeError, TimeoutError) as exc:
            log.error("cannot serve: %s", exc)
            return 1
        finally:
            if watcher is not None:
                watcher.cancel()
            self._gc.cancel()
            for task in (self._ack_waiter, self._requarantine, self._bisecting):
                if task is not None:
                    task.cancel()
            if self.envoy is not None:
                await self.envoy.stop()
            await self.admin.stop()
            if self.scrape is not None:
                await self.scrape.stop()
            await self.xds.stop()
            state.remove()

    async def _watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async for changed in watch_paths(self.settings.paths, stop_event=stop):
                    log.info("inputs changed: %s", ", ".join(sorted(str(p) for p in changed)))
                    await self.reload()  # never raises: failures are reported
                return
            except Exception as exc:  # the watcher itself: a dead watcher is a silent freeze
                self.reload_failed("watching the inputs", exc)
                await asyncio.sleep(1.0)
                await self.reload()  # what changed meanwhile


def _quarantine_problems(
    problems: list[xds.Problem], model: Snapshot, quarantine: dict[ObjKey, Quarantined]
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


def _is_failure(error: dict[str, Any]) -> bool:
    return error.get("kind") is None and str(error.get("message", "")).startswith(
        "internal error: "
    )


async def serve(settings: ServeSettings) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit status."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        return await GatewayRuntime(settings).run(stop)
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
