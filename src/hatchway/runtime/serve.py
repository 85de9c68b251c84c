"""`hatchway serve`: files in, Envoy out, kept in step until SIGTERM.

The engine (`runtime.engine`: pipeline -> publisher -> verdicts) with a file source, one
local Envoy that gets its configuration over a private Unix socket, a file watcher and the
admin API. When the input has errors and a configuration is already running, the running one
stays (the errors show on `/errors` and in the log). Envoy's verdict on each generation flows
back into status (`Programmed`) and readiness.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import signal
from dataclasses import dataclass
from typing import Any

import aiohttp

from hatchway import xds
from hatchway.ads.tenants import SHARED
from hatchway.ads.verdict import AckState, Outcome, XdsEvent
from hatchway.runtime import console
from hatchway.runtime.admin import AdminServer, Readiness
from hatchway.runtime.engine import Engine
from hatchway.runtime.envoy import Envoy, EnvoySettings
from hatchway.runtime.memory import default_max_heap
from hatchway.runtime.metrics import Metrics
from hatchway.runtime.pipeline import Pipeline
from hatchway.runtime.publisher import Publisher
from hatchway.runtime.route_metrics import envoy_text
from hatchway.runtime.state_dir import StateDir
from hatchway.runtime.xds_server import XdsServer, single_node
from hatchway.sources.file_source import FileSource, InputSource
from hatchway.sources.watch import Fingerprint, fingerprint, watch_paths
from hatchway.translate import Settings as TranslateSettings
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
    # OTLP/gRPC collector every HTTP socket traces to, unless its Gateway's XTelemetryPolicy
    # says otherwise; None: tracing only where a policy enables it.
    tracing_endpoint: tuple[str, int] | None = None
    # Per-route request counts and durations (Envoy's stats access logger, read by /metrics).
    route_metrics: bool = True


class GatewayRuntime:
    """A gateway with its own Envoy: `serve`, and the controller's embedded data plane."""

    def __init__(self, settings: ServeSettings, source: InputSource | None = None) -> None:
        self.settings = settings
        self.stats = Metrics()
        self.node_id = settings.node_id or f"hatchway-{secrets.token_hex(8)}"
        self.xds = XdsServer(
            single_node(self.node_id), on_event=self._on_event, on_push=self._on_push
        )
        self.source: InputSource = source if source is not None else FileSource(settings.paths)
        self.envoy: Envoy | None = None
        self.engine = Engine(
            self.source,
            Pipeline(
                TranslateSettings(bind_address=settings.bind_address),
                xds.XdsSettings(
                    access_log=settings.access_log,
                    route_stats=settings.route_metrics,
                    tracing_endpoint=settings.tracing_endpoint,
                ),
            ),
            Publisher(self.xds),
            self.stats,
            envoy_admin=lambda: self.envoy.admin_url if self.envoy else None,
        )
        self.engine.before_load = self._fingerprint
        self._loaded_fingerprint: Fingerprint = ()
        self.admin = AdminServer(self, settings.admin_host, settings.admin_port)
        self.scrape = (
            AdminServer(self, *settings.metrics_address, scrape_only=True)
            if settings.metrics_address
            else None
        )

    @property
    def generation(self) -> int:
        return self.engine.generation

    async def reload(self) -> bool:
        return await self.engine.reload()

    def _fingerprint(self) -> None:
        # Taken before reading: a save during the load shows up as a difference later.
        self._loaded_fingerprint = fingerprint(self.settings.paths)

    def _on_event(self, event: XdsEvent) -> None:
        self.stats.answered(event)

    def _on_push(self, resp: Any) -> None:
        self.stats.pushed(resp.type_url)

    # --- admin view -------------------------------------------------------------------------

    def readiness(self) -> Readiness:
        if self.engine.published is not None and (self.envoy is None or not self.envoy.ready):
            return Readiness(False, "Envoy is not running (or not ready yet)", self.generation)
        return self.engine.readiness(SHARED)

    def status(self, *, stamped: bool = True) -> dict[str, Any]:
        if self.envoy is None or not self.envoy.running:
            down = Outcome(AckState.PENDING, self.generation, reason="Envoy is not running")
            return self.engine.status({SHARED: down}, stamped=stamped)
        return self.engine.status(stamped=stamped)

    def errors(self) -> list[dict[str, Any]]:
        return self.engine.errors()

    def config(self) -> dict[str, Any]:
        return self.engine.config()

    def topology(self) -> dict[str, Any]:
        return console.topology(self.engine.published)

    def explain(self, url: str, method: str, headers: list[str]) -> dict[str, Any]:
        return console.explain_request(self.engine.published, url, method, headers)

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
                        node_id=self.node_id,
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
            self.engine.stop()
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
                self.engine.reload_failed("watching the inputs", exc)
                await asyncio.sleep(1.0)
                await self.reload()  # what changed meanwhile


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
