"""The admin HTTP API (docs/reference.md, "Admin API"): health, readiness, status, errors,
config, metrics (ours, and Envoy's own on `/metrics/envoy`). Loopback by default; read-only.

A second, scrape-only server (`--metrics-address`) serves just `/metrics`, `/healthz` and
`/readyz`: what a Prometheus scraper and the kubelet's probes need from outside the pod,
without the configuration and status the admin API shows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

from aiohttp import web

log = logging.getLogger("hatchway.admin")

_PROMETHEUS = {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
# The console's files (`hatchway/console/`), plain HTML, JS and CSS: no build step.
CONSOLE_FILES = {
    "index.html": "text/html",
    "console.js": "text/javascript",
    "console.css": "text/css",
}
# The page loads only its own files and talks only to this server.
_CONSOLE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str
    generation: int
    details: tuple[dict[str, Any], ...] = ()  # e.g. rejected resources and their objects


class AdminView(Protocol):
    """What the admin API shows; `hatchway.runtime.serve` implements it."""

    def readiness(self) -> Readiness: ...

    def status(self) -> dict[str, Any]: ...

    def errors(self) -> list[dict[str, Any]]: ...

    def config(self) -> dict[str, Any]: ...

    async def metrics(self) -> bytes: ...

    async def envoy_metrics(self) -> bytes:
        """Envoy's own stats, Prometheus text (`/metrics/envoy`)."""
        ...

    def topology(self) -> dict[str, Any]:
        """Gateways, listeners, routes, backends and their conditions (`runtime.console`)."""
        ...

    def explain(self, url: str, method: str, headers: list[str]) -> dict[str, Any]:
        """`explain` over the running configuration; ValueError for a bad request."""
        ...


def make_app(view: AdminView, scrape_only: bool = False) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        r = view.readiness()
        body: dict[str, Any] = {
            "ready": r.ready,
            "generation": r.generation,
            "reason": r.reason,
        }
        if r.details:
            body["details"] = list(r.details)
        return web.json_response(body, status=200 if r.ready else 503)

    async def status(_: web.Request) -> web.Response:
        return web.json_response(view.status())

    async def errors(_: web.Request) -> web.Response:
        return web.json_response(view.errors())

    async def config(_: web.Request) -> web.Response:
        return web.json_response(view.config())

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=await view.metrics(), headers=_PROMETHEUS)

    async def envoy_metrics(_: web.Request) -> web.Response:
        return web.Response(body=await view.envoy_metrics(), headers=_PROMETHEUS)

    async def console_file(request: web.Request) -> web.Response:
        name = request.match_info.get("name", "index.html")
        kind = CONSOLE_FILES.get(name)
        if kind is None:
            raise web.HTTPNotFound()
        body = resources.files("hatchway").joinpath("console", name).read_bytes()
        return web.Response(body=body, content_type=kind, headers=_CONSOLE_HEADERS)

    async def topology(_: web.Request) -> web.Response:
        return web.json_response(view.topology())

    async def explain(request: web.Request) -> web.Response:
        q = request.query
        try:
            found = view.explain(q.get("url", ""), q.get("method", "GET"), q.getall("header", []))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(found)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/metrics/envoy", envoy_metrics)
    if not scrape_only:
        app.router.add_get("/status", status)
        app.router.add_get("/errors", errors)
        app.router.add_get("/config", config)
        app.router.add_get("/", console_file)
        app.router.add_get("/console/{name}", console_file)
        app.router.add_get("/api/topology", topology)
        app.router.add_get("/api/explain", explain)
    return app


class AdminServer:
    def __init__(
        self,
        view: AdminView,
        host: str = "127.0.0.1",
        port: int = 19000,
        scrape_only: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.what = "metrics" if scrape_only else "admin API"
        self._runner = web.AppRunner(make_app(view, scrape_only), access_log=None)

    async def start(self) -> int:
        """Bind and serve; returns the bound port (useful when asked for port 0)."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        for address in self._runner.addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                self.port = int(address[1])
                break
        log.info("%s on http://%s:%d", self.what, self.host, self.port)
        return self.port

    async def stop(self) -> None:
        await self._runner.cleanup()
