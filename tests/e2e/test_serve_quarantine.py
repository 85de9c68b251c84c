"""A route Envoy rejects is quarantined: its port keeps taking updates, and its last accepted
version keeps serving until it is fixed. Real Envoy, real NACK: the test lowers Envoy's RE2
program-size limit through Envoy's own admin API (`/runtime_modify`), so a regex route that
the default limit accepts is refused exactly as an over-complex regex would be."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from e2e.echo import EchoPool
from e2e.envoy_admin import envoy_admin_port
from e2e.harness import Hatchway, free_port, http_request, wait_for, write_yaml
from manifests import gateway_class, http_gateway, http_route, service

pytestmark = pytest.mark.e2e

REGEX = "/re/(alpha|beta|gamma)[0-9]+"


def _regex_route(name: str, pattern: str, backend: str) -> dict[str, Any]:
    route = http_route(name, "demo", [("/unused", backend)])
    route["spec"]["rules"][0]["matches"] = [
        {"path": {"type": "RegularExpression", "value": pattern}}
    ]
    return route


def _lower_re2_limit(hw: Hatchway) -> None:
    """Envoy's own admin API: regexes over 10 RE2 instructions are now refused."""
    r = http_request(
        envoy_admin_port(hw), "/runtime_modify?re2.max_program_size.error_level=10", method="POST"
    )
    assert r.status == 200, r.body


def _errors_for(hw: Hatchway, name: str) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = hw.admin("/errors").json()
    return [e for e in errors if e["kind"] == "HTTPRoute" and e["name"] == name]


def _backend(port: int, path: str) -> str | None:
    r = http_request(port, path)
    return str(r.json()["backend"]) if r.status == 200 else None


def test_rejected_route_is_quarantined_and_the_port_keeps_updating(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Callable[..., Hatchway]
) -> None:
    blue = echo_pool.servers.get("blue") or echo_pool.start("blue")
    green = echo_pool.servers.get("green") or echo_pool.start("green")
    config = tmp_path / "config"
    config.mkdir()
    port = free_port()
    write_yaml(config / "gateway.yaml", [gateway_class(), http_gateway("demo", port)])
    write_yaml(
        config / "services.yaml", [*service("blue", blue.port), *service("green", green.port)]
    )
    write_yaml(config / "app.yaml", [http_route("app", "demo", [("/blue", "blue")])])
    write_yaml(config / "r2.yaml", [http_route("r2", "demo", [("/re", "green")])])
    hw = hatchway_factory(config)
    assert _backend(port, "/re/zzz") == "green"

    _lower_re2_limit(hw)

    # r2 becomes a regex route Envoy now refuses: the whole RouteConfiguration is NACKed,
    # then r2 alone is quarantined and its previous version (the /re prefix) keeps serving.
    write_yaml(config / "r2.yaml", [_regex_route("r2", REGEX, "green")])
    errors = wait_for(lambda: _errors_for(hw, "r2") or None, 15, "r2 quarantined")
    assert "RE2 program size" in errors[0]["message"], errors
    assert "previous version keeps serving" in errors[0]["message"], errors
    hw.wait_ready()
    assert _backend(port, "/re/zzz") == "green"  # the prefix version, not the regex
    assert _backend(port, "/blue") == "blue"

    # The port is not frozen: a new route goes live.
    write_yaml(config / "new.yaml", [http_route("new", "demo", [("/new", "blue")])])
    wait_for(lambda: _backend(port, "/new") == "blue" or None, 15, "/new served")
    assert _errors_for(hw, "r2"), "r2 stays quarantined while unchanged"

    # Fixing r2 releases it.
    write_yaml(config / "r2.yaml", [http_route("r2", "demo", [("/fixed", "green")])])
    wait_for(lambda: _backend(port, "/fixed") == "green" or None, 15, "/fixed served")
    wait_for(lambda: not _errors_for(hw, "r2") or None, 15, "r2 released")
    assert http_request(port, "/re/zzz").status == 404
    assert "quarantined HTTPRoute/default/r2" in hw.log(400)


def test_new_route_rejected_by_envoy_is_refused_in_status(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Callable[..., Hatchway]
) -> None:
    blue = echo_pool.servers.get("blue") or echo_pool.start("blue")
    config = tmp_path / "config"
    config.mkdir()
    port = free_port()
    write_yaml(config / "gateway.yaml", [gateway_class(), http_gateway("demo", port)])
    write_yaml(config / "services.yaml", service("blue", blue.port))
    write_yaml(config / "app.yaml", [http_route("app", "demo", [("/blue", "blue")])])
    hw = hatchway_factory(config)
    _lower_re2_limit(hw)
    write_yaml(config / "bad.yaml", [_regex_route("bad", REGEX, "blue")])
    errors = wait_for(lambda: _errors_for(hw, "bad") or None, 15, "bad quarantined")
    assert "not served until it changes" in errors[0]["message"], errors
    ready = hw.wait_ready()
    assert ready["ready"] is True
    assert _backend(port, "/blue") == "blue"
    assert http_request(port, "/re/alpha1").status == 404
    # Its status says so, with Envoy's reason.
    resources = hw.admin("/status").json()["resources"]
    bad = next(r for r in resources if r["kind"] == "HTTPRoute" and r["metadata"]["name"] == "bad")
    accepted = {c["type"]: c for c in bad["status"]["parents"][0]["conditions"]}["Accepted"]
    assert (accepted["status"], accepted["reason"]) == ("False", "UnsupportedValue")
    assert "RE2 program size" in accepted["message"]
