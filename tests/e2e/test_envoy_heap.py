"""Envoy's heap budget (the overload manager's `fixed_heap` monitor and its actions).

Over budget, Envoy refuses new requests (503 "envoy overloaded") instead of growing until the
OOM killer ends every connection at once; the admin API (readiness) keeps answering. A
budget below what Envoy already uses shows it at once; the default (from the memory limit)
leaves the actions idle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from e2e.echo import EchoPool
from e2e.envoy_admin import envoy_admin_port
from e2e.harness import Hatchway, Response, free_port, http_request, wait_for, write_yaml
from manifests import gateway_class, http_gateway, http_route, service

pytestmark = pytest.mark.e2e
ACTIONS = "overload.envoy.overload_actions."


def overload_stats(hw: Hatchway) -> dict[str, int]:
    """Envoy's overload gauges, unused ones (still 0) included."""
    text = http_request(envoy_admin_port(hw), "/stats?filter=^overload\\.").body.decode()
    pairs = (line.split(": ", 1) for line in text.splitlines())
    return {k: int(v) for k, v in pairs if v.strip().isdigit()}


def _config(tmp_path: Path, echo_pool: EchoPool) -> tuple[Path, int]:
    blue = echo_pool.servers.get("blue") or echo_pool.start("blue")
    config = tmp_path / "config"
    config.mkdir()
    port = free_port()
    write_yaml(config / "gateway.yaml", [gateway_class(), http_gateway("demo", port)])
    write_yaml(config / "services.yaml", service("blue", blue.port))
    write_yaml(config / "route.yaml", [http_route("app", "demo", [("/blue", "blue")])])
    return config, port


def test_over_the_heap_budget_new_requests_are_refused(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Callable[..., Hatchway]
) -> None:
    config, port = _config(tmp_path, echo_pool)
    hw = hatchway_factory(config, extra_args=["--max-heap", "1Mi"])  # Envoy alone uses more

    def refused() -> Response | None:
        r = http_request(port, "/blue")
        return r if r.status == 503 else None

    # The monitor is read every 0.25 s (bootstrap `refresh_interval`).
    assert wait_for(refused, 5, "a 503").body == b"envoy overloaded"
    stats = overload_stats(hw)
    assert stats[f"{ACTIONS}shrink_heap.active"] == 1
    assert stats[f"{ACTIONS}stop_accepting_requests.active"] == 1
    assert hw.readyz().status == 200  # the control plane and Envoy's admin still answer


def test_the_default_budget_leaves_the_actions_idle(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Callable[..., Hatchway]
) -> None:
    config, port = _config(tmp_path, echo_pool)
    hw = hatchway_factory(config)
    assert http_request(port, "/blue").status == 200
    time.sleep(0.5)  # two monitor refreshes
    stats = overload_stats(hw)
    assert stats["overload.envoy.resource_monitors.fixed_heap.pressure"] < 95
    assert stats[f"{ACTIONS}stop_accepting_requests.active"] == 0
