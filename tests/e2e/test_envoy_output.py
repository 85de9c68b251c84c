"""Envoy's output is relayed whatever its line length, Envoy never blocks on our pipe, and
shutdown is bounded.

At debug level Envoy logs every request's headers in one line; a header of 40,000 `"`
characters (40 KB, under the 60 KiB header limit) becomes an 80 KB line once JSON-escaped,
longer than the 64 KiB a line reader takes by default. Envoy must keep answering, the
log must carry the line's start with a note of what was cut, and SIGTERM must end it all in
seconds.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from e2e.echo import EchoPool
from e2e.envoy_admin import envoy_admin_port
from e2e.harness import Hatchway, free_port, http_request, write_yaml
from manifests import gateway_class, http_gateway, http_route, service

pytestmark = pytest.mark.e2e


def test_log_lines_over_64_kib_neither_wedge_envoy_nor_shutdown(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Callable[..., Hatchway]
) -> None:
    blue = echo_pool.servers.get("blue") or echo_pool.start("blue")
    config = tmp_path / "config"
    config.mkdir()
    port = free_port()
    write_yaml(config / "gateway.yaml", [gateway_class(), http_gateway("demo", port)])
    write_yaml(config / "services.yaml", service("blue", blue.port))
    write_yaml(config / "route.yaml", [http_route("app", "demo", [("/blue", "blue")])])
    hw = hatchway_factory(config, extra_args=["--envoy-log-level", "debug"])
    admin = envoy_admin_port(hw)

    big = '"' * 40_000
    statuses = []
    for _ in range(8):  # ~1.3 MB of log lines: far more than a pipe and a reader buffer hold
        try:
            statuses.append(http_request(port, "/blue", headers={"x-big": big}, timeout=3).status)
        except OSError as exc:
            statuses.append(type(exc).__name__)
    assert statuses == [200] * 8
    for _ in range(20):
        assert http_request(port, "/blue", timeout=3).status == 200
    assert http_request(admin, "/ready", timeout=3).status == 200

    log = hw.log_path.read_text(errors="replace")
    assert "more bytes not shown" in log
    assert max(len(line) for line in log.splitlines()) < 20_000

    started = time.monotonic()
    assert hw.stop(timeout=30) == 0
    assert time.monotonic() - started < 15


def test_shutdown_is_bounded_when_envoy_does_not_answer(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Callable[..., Hatchway]
) -> None:
    """A stopped Envoy answers neither the drain request nor SIGTERM: it is killed after the
    stop timeout (10 s), and hatchway still exits cleanly."""
    blue = echo_pool.servers.get("blue") or echo_pool.start("blue")
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "gateway.yaml", [gateway_class(), http_gateway("demo", free_port())])
    write_yaml(config / "services.yaml", service("blue", blue.port))
    hw = hatchway_factory(config)
    envoy = hw.envoy_pid()
    assert envoy is not None
    os.kill(envoy, signal.SIGSTOP)
    started = time.monotonic()
    assert hw.stop(timeout=40) == 0
    assert time.monotonic() - started < 25
    assert "Envoy did not stop within 10s; killing it" in hw.log(50)
