"""`hatchway serve` as a new user meets it: what it does not serve is said on /errors and
/readyz, keys never leave it, and it cleans up after itself however it stops."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from e2e.echo import EchoPool
from e2e.harness import Hatchway, free_port, http_request, wait_for, write_yaml
from e2e.pki import CA
from manifests import gateway_class, http_gateway, http_route, service, tls_secret

pytestmark = pytest.mark.e2e

Factory = Callable[..., Hatchway]


@pytest.fixture
def config(tmp_path: Path, echo_pool: EchoPool) -> dict[str, Any]:
    blue = echo_pool.servers.get("blue") or echo_pool.start("blue")
    config = tmp_path / "config"
    config.mkdir()
    port = free_port()
    write_yaml(config / "gateway.yaml", [gateway_class(), http_gateway("demo", port)])
    write_yaml(config / "services.yaml", service("blue", blue.port))
    write_yaml(config / "route.yaml", [http_route("app", "demo", [("/", "blue")])])
    return {"dir": config, "port": port}


def _typo_gateway(port: int) -> dict[str, Any]:
    gw = http_gateway("typo", port)
    gw["spec"]["gatewayClassName"] = "hatchwya"
    return gw


def test_unserved_input_is_on_errors_and_readyz(
    config: dict[str, Any], hatchway_factory: Factory
) -> None:
    write_yaml(config["dir"] / "typo.yaml", [_typo_gateway(free_port())])
    lost = http_route("lost", "no-such-gateway", [("/", "blue")])
    write_yaml(config["dir"] / "lost.yaml", [lost])
    hw = hatchway_factory(config["dir"])
    assert http_request(config["port"], "/").status == 200  # the rest serves
    errors = hw.admin("/errors").json()
    by_code = {e["code"]: e for e in errors}
    typo = by_code["UnknownGatewayClass"]
    assert (typo["kind"], typo["namespace"], typo["name"]) == ("Gateway", "default", "typo")
    assert "'hatchwya' does not exist" in typo["message"]
    assert by_code["ParentNotFound"]["name"] == "lost"
    ready = hw.readyz()
    assert ready.status == 200
    reason = ready.json()["reason"]
    assert "problems on /errors" in reason and "Gateway default/typo" in reason


def test_nothing_served_is_named_on_readyz_and_errors(
    tmp_path: Path, hatchway_factory: Factory
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "gateway.yaml", [gateway_class(), _typo_gateway(free_port())])
    hw = hatchway_factory(config)
    reason = hw.readyz().json()["reason"]
    assert "nothing to serve: no listener is served" in reason
    assert any(e["code"] == "NothingServed" for e in hw.admin("/errors").json())


def test_config_shows_key_fingerprints_only(
    config: dict[str, Any], hatchway_factory: Factory
) -> None:
    pair = CA("first-contact").issue("secure", dns=("secure.test",))
    https = http_gateway("secure", free_port())
    https["spec"]["listeners"] = [
        {
            "name": "https",
            "port": https["spec"]["listeners"][0]["port"],
            "protocol": "HTTPS",
            "tls": {"certificateRefs": [{"name": "cert"}]},
        }
    ]
    write_yaml(config["dir"] / "https.yaml", [tls_secret("cert", pair), https])
    hw = hatchway_factory(config["dir"])
    for path in ("/config", "/status", "/errors", "/metrics"):
        body = hw.admin(path).body.decode()
        assert "PRIVATE KEY" not in body, path
        assert pair.key_pem.splitlines()[1] not in body, path
    secrets = hw.admin("/config").json()["secrets"]
    assert any("sha256:" in json.dumps(s) for s in secrets)
    assert "PRIVATE KEY" not in hw.log(tail=100_000)


def test_metrics_address_serves_only_scrape_endpoints(
    config: dict[str, Any], hatchway_factory: Factory
) -> None:
    scrape = free_port()
    hatchway_factory(config["dir"], extra_args=("--metrics-address", f"127.0.0.1:{scrape}"))
    assert http_request(scrape, "/healthz").status == 200
    assert http_request(scrape, "/readyz").status == 200
    assert b"hatchway_config_generation" in http_request(scrape, "/metrics").body
    for private in ("/config", "/status", "/errors"):
        assert http_request(scrape, private).status == 404, private


def _state_dirs(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("hatchway-*"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_state_dir_removed_on_stop(
    sig: signal.Signals, config: dict[str, Any], tmp_path: Path, hatchway_factory: Factory
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    hw = hatchway_factory(config["dir"], env={"TMPDIR": str(tmp)})
    (state,) = _state_dirs(tmp)
    assert state.stat().st_mode & 0o777 == 0o700
    assert hw.proc is not None
    hw.proc.send_signal(sig)
    assert hw.proc.wait(30) == 0
    assert _state_dirs(tmp) == []


def test_state_dir_of_a_killed_run_is_reaped(
    config: dict[str, Any], tmp_path: Path, hatchway_factory: Factory
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    first = hatchway_factory(config["dir"], env={"TMPDIR": str(tmp)})
    (killed,) = _state_dirs(tmp)
    assert first.proc is not None
    first.proc.kill()  # no chance to clean up
    first.proc.wait(10)
    wait_for(lambda: first_envoy_gone(killed), 15, "the killed run's Envoy to exit")
    second = hatchway_factory(config["dir"], env={"TMPDIR": str(tmp)})
    assert killed not in _state_dirs(tmp) and len(_state_dirs(tmp)) == 1
    second.stop()
    assert _state_dirs(tmp) == []


def first_envoy_gone(state: Path) -> bool:
    """Envoy dies with its control plane (PDEATHSIG); none may still use `state`."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(state).encode() in (proc / "cmdline").read_bytes():
                    return False
            except OSError:
                continue
    return True


def test_quickstart_runner_leaves_nothing_when_killed(tmp_path: Path) -> None:
    """`run.py` killed outright (no Ctrl-C): its backends and serve stop with it, and the
    next start reaps the state directory."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    root = Path(__file__).resolve().parents[2]
    busy = [p for p in (8080, 9101, 9102, 19000) if _busy(p)]
    if busy:
        pytest.skip(f"quickstart ports in use: {busy}")
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen(
        [sys.executable, str(root / "examples/quickstart/run.py")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _state_dirs(tmp), 30, "serve's state directory")
        children = _children(proc.pid)
        assert len(children) >= 3  # two backends and serve
    finally:
        proc.kill()
        proc.wait(10)
    wait_for(lambda: not any(Path(f"/proc/{c}").exists() for c in children), 20, "children gone")
    assert _state_dirs(tmp) == []


def _busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(c) for c in text.split()]


def test_sigterm_during_start_still_cleans_up(config: dict[str, Any], tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    hw = Hatchway(config["dir"], tmp_path / "early.log", env={"TMPDIR": str(tmp)})
    hw.start(wait_ready=False)
    wait_for(lambda: _state_dirs(tmp), 30, "serve's state directory")
    time.sleep(0.2)
    assert hw.stop() == 0
    assert _state_dirs(tmp) == []
