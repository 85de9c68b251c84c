"""`hatchway proxy`: one Envoy of a Gateway's data plane, in a Pod the controller provisioned.

Writes Envoy's bootstrap (the controller's xDS Service over mutual TLS, the Gateway as node
cluster), runs Envoy and restarts it if it dies, and serves `/healthz`, `/readyz`,
`/metrics` and `/metrics/envoy` on the Pod's scrape port. Envoy's access log goes to this
process's stdout (the Pod's log). Envoy keeps serving its last configuration while no
controller answers. `--drain` (the Pod's preStop hook) asks the running Envoy to drain and
waits, so clients move to the other replicas before Kubernetes sends SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, generate_latest

from hatchway.runtime import cert_client
from hatchway.runtime.admin import AdminServer, Readiness
from hatchway.runtime.envoy import Envoy, EnvoySettings, open_connections
from hatchway.runtime.memory import default_max_heap
from hatchway.runtime.route_metrics import DataPlaneMetrics, envoy_text, register_common
from hatchway.xds.bootstrap import BootstrapSettings, XdsRemote, bootstrap

log = logging.getLogger("hatchway.proxy")

DRAINING_MARKER = "draining"


@dataclass(frozen=True)
class ProxySettings:
    gateway: str  # namespace/name
    node_id: str  # unique per Pod: namespace/name/pod
    xds_host: str
    xds_port: int
    xds_ca_pem: bytes  # the controller's CA: whom to trust for xDS and certificates
    token_file: Path  # the Pod's projected ServiceAccount token (audience hatchway.dev/xds)
    state_dir: Path
    metrics_host: str = "0.0.0.0"
    metrics_port: int = 19001
    drain_seconds: int = 10
    envoy_log_level: str = "warning"
    envoy_concurrency: int | None = None
    max_connections: int = 50_000


class ProxyView:
    """What the scrape port shows: Envoy's health and readiness, per-route and per-backend
    metrics by Gateway API names (`runtime.route_metrics`, as under serve), this process's
    metrics, and Envoy's own stats on `/metrics/envoy`."""

    def __init__(self, settings: ProxySettings, envoy: Envoy | None) -> None:
        self.settings = settings
        self.envoy = envoy  # None until the proxy has its certificate and starts Envoy
        self._readiness = Readiness(False, "waiting for an xDS certificate", 0)
        self.registry = CollectorRegistry(auto_describe=True)
        register_common(self.registry)
        self.dataplane = DataPlaneMetrics()

    async def poll(self) -> None:
        """Refresh readiness from Envoy's admin (loopback) once a second."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while True:
                if self.envoy is None:
                    await asyncio.sleep(0.2)
                    continue
                self._readiness = await self._check(http, self.envoy)
                await asyncio.sleep(1)

    async def _check(self, http: aiohttp.ClientSession, envoy: Envoy) -> Readiness:
        if (self.settings.state_dir / DRAINING_MARKER).exists():
            return Readiness(False, "draining", 0)
        if not envoy.running or not envoy.admin_url:
            return Readiness(False, "Envoy is not running", 0)
        try:
            async with http.get(f"{envoy.admin_url}/ready") as r:
                if r.status != 200:
                    return Readiness(False, f"Envoy is {(await r.text()).strip()}", 0)
            # Ready only once a configuration from the controller arrived: an Envoy that gave
            # up waiting for its first one is LIVE with no listeners.
            query = "/stats?filter=^listener_manager.lds.update_success$"
            async with http.get(f"{envoy.admin_url}{query}") as r:
                text = await r.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Readiness(False, f"Envoy's admin does not answer: {exc}", 0)
        updates = int(text.rpartition(":")[2].strip() or 0) if ":" in text else 0
        if updates == 0:
            return Readiness(False, "no configuration from the controller yet", 0)
        return Readiness(True, "Envoy runs a configuration from the controller", 0)

    def readiness(self) -> Readiness:
        return self._readiness

    async def metrics(self) -> bytes:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            await self.dataplane.refresh(http, self.envoy.admin_url if self.envoy else None)
        return bytes(generate_latest(self.registry)) + self.dataplane.render().encode()

    async def envoy_metrics(self) -> bytes:
        admin = self.envoy.admin_url if self.envoy is not None else None
        if admin is None:
            return b"# Envoy is not running\n"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            try:
                return (await envoy_text(http, admin, ours=False)).encode()
            except (aiohttp.ClientError, TimeoutError) as exc:
                return f"# Envoy's stats not read: {exc}\n".encode()

    def status(self) -> dict[str, Any]:
        return {}

    def errors(self) -> list[dict[str, Any]]:
        return []

    def config(self) -> dict[str, Any]:
        return {}

    def topology(self) -> dict[str, Any]:
        return {}  # the scrape port has no console

    def explain(self, url: str, method: str, headers: list[str]) -> dict[str, Any]:
        raise ValueError("a proxy Pod has no console; use the controller's admin address")


def proxy_bootstrap(s: ProxySettings) -> dict[str, Any]:
    return bootstrap(
        BootstrapSettings(
            node_id=s.node_id,
            node_cluster=s.gateway,
            max_downstream_connections=s.max_connections,
            max_heap_bytes=default_max_heap(),
            xds_remote=XdsRemote(s.xds_host, s.xds_port, str(tls_dir(s)), s.xds_host),
        )
    )


def tls_dir(s: ProxySettings) -> Path:
    return s.state_dir / "xds-tls"


def cert_source(s: ProxySettings) -> cert_client.CertSource:
    """The controller's certificate endpoint: its xDS port + 1, same name and CA."""
    return cert_client.CertSource(
        url=f"https://{s.xds_host}:{s.xds_port + 1}/v1/certificates",
        ca_pem=s.xds_ca_pem,
        token_file=s.token_file,
        gateway=s.gateway,
        server_name=s.xds_host,
    )


async def first_certificate(s: ProxySettings, stop: asyncio.Event) -> dt.datetime | None:
    """Obtain the xDS certificate, retrying while the controller is away (None: stopped)."""
    backoff = 0.5
    while not stop.is_set():
        try:
            return await cert_client.fetch(cert_source(s), tls_dir(s))
        except (OSError, aiohttp.ClientError, TimeoutError, cert_client.CertificateRefused) as exc:
            log.warning("no xDS certificate yet (%s); retrying in %.1fs", exc, backoff)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), backoff)
        backoff = min(backoff * 2, 30)
    return None


async def run_proxy(s: ProxySettings, stop: asyncio.Event) -> int:
    s.state_dir.mkdir(parents=True, exist_ok=True)
    (s.state_dir / DRAINING_MARKER).unlink(missing_ok=True)
    view_only = ProxyView(s, None)
    scrape = AdminServer(view_only, s.metrics_host, s.metrics_port, scrape_only=True)
    await scrape.start()
    try:
        expiry = await first_certificate(s, stop)
        if expiry is None:
            return 0
        renew = asyncio.create_task(
            cert_client.keep_fresh(cert_source(s), tls_dir(s), expiry), name="renew"
        )
        try:
            return await _serve(s, stop, view_only)
        finally:
            renew.cancel()
    finally:
        await scrape.stop()


async def _serve(s: ProxySettings, stop: asyncio.Event, view: ProxyView) -> int:
    envoy = Envoy(
        proxy_bootstrap(s),
        s.state_dir,
        EnvoySettings(
            concurrency=s.envoy_concurrency,
            drain_time_s=s.drain_seconds,
            log_level=s.envoy_log_level,
            # The controller may be away: readiness says so, Envoy waits for it.
            ready_timeout_s=3600.0,
        ),
    )
    view.envoy = envoy
    poller = asyncio.create_task(view.poll(), name="proxy-poll")
    try:
        await envoy.start(wait_ready=False)
        log.info("proxy for Gateway %s: xDS %s:%d", s.gateway, s.xds_host, s.xds_port)
        await stop.wait()
        # Drained already by the preStop hook, or stopped outside Kubernetes: drain briefly.
        drained = (s.state_dir / DRAINING_MARKER).exists()
        await envoy.stop(drain=not drained)
        return 0
    finally:
        poller.cancel()


async def drain(state_dir: Path, seconds: int) -> int:
    """The preStop hook: drain the Envoy running with `state_dir`, wait until its connections
    are gone or `seconds` passed. Readiness turns 503 at once."""
    (state_dir / DRAINING_MARKER).touch()
    try:
        admin = (state_dir / "envoy-admin-address").read_text().strip()
    except OSError:
        log.warning("no running Envoy found in %s; nothing to drain", state_dir)
        return 0
    base = f"http://{admin}"
    started = time.monotonic()
    deadline = started + seconds
    # Endpoints and load balancers take a moment to stop sending new connections here: wait
    # at least this long even when none is open right now.
    settle = started + min(seconds, 5)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        try:
            async with http.post(f"{base}/drain_listeners?graceful") as r:
                log.info("draining Envoy (%d)", r.status)
            while time.monotonic() < deadline:
                if time.monotonic() >= settle and await open_connections(http, base) == 0:
                    break
                await asyncio.sleep(0.2)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not drain Envoy: %s", exc)
    return 0
