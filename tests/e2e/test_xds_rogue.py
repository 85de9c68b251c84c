"""Only our own Envoy talks to our xDS server.

A rogue client (`rogue_xds.py`, a real delta-ADS client on the xds-protos stubs) learns the
xDS address and the node id the way any local process can, from Envoy's unauthenticated admin
`/config_dump` on loopback, then tries to read the listeners' private keys and to NACK
listeners and routes with a message quoting a real route's path. Neither another user (the
socket sits in a private directory) nor a process of our own user with a foreign node id (the
stream is refused before any resource is sent) gets anything, and nothing it says reaches
readiness, status or quarantine: traffic and `/readyz` stay as they were.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from e2e.echo import EchoPool
from e2e.envoy_admin import envoy_admin_port
from e2e.harness import Hatchway, conditions, free_port, http_request, status_of, write_yaml
from e2e.pki import CA
from e2e.tls_client import https_request
from manifests import gateway, gateway_class, listener, parent, route, service, tls_secret

pytestmark = pytest.mark.e2e

ROGUE = Path(__file__).with_name("rogue_xds.py")
NOBODY = 65534


@pytest.fixture
def served(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Callable[..., Hatchway]
) -> dict[str, Any]:
    """An HTTP and an HTTPS listener (certificate from a Secret), one route on both."""
    blue = echo_pool.servers.get("blue") or echo_pool.start("blue")
    http_port, https_port = free_port(), free_port()
    pair = CA().issue("rogue-test", dns=("example.org",))
    docs = [
        gateway_class(),
        gateway(
            "gw",
            [
                listener("http", http_port, "HTTP"),
                listener("https", https_port, "HTTPS", certs=("cert",)),
            ],
        ),
        tls_secret("cert", pair),
        *service("blue", blue.port),
        route(
            "HTTPRoute",
            "app",
            [parent("gw")],
            [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/blue"}}],
                    "backendRefs": [{"name": "blue", "port": 80}],
                }
            ],
        ),
    ]
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "all.yaml", docs)
    hw = hatchway_factory(config)
    return {"hw": hw, "http": http_port, "https": https_port}


def _bootstrap(hw: Hatchway) -> dict[str, Any]:
    dump = http_request(envoy_admin_port(hw), "/config_dump").json()
    return next(c for c in dump["configs"] if "bootstrap" in c)["bootstrap"]  # type: ignore[no-any-return]


def xds_target(hw: Hatchway) -> tuple[str, str]:
    """(gRPC target of the xDS server, Envoy's node id), as Envoy's admin shows them."""
    boot = _bootstrap(hw)
    cluster = boot["static_resources"]["clusters"][0]
    address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    if "pipe" in address:
        target = f"unix:{address['pipe']['path']}"
    else:
        target = f"{address['socket_address']['address']}:{address['socket_address']['port_value']}"
    return target, boot["node"]["id"]


def run_rogue(
    served: dict[str, Any], target: str, node: str, *, user: int | None = None
) -> dict[str, Any]:
    """Run the rogue (4 s), watching `/readyz` and a route meanwhile; its report, plus
    `readyz_seen` and `route_seen`: every status code observed during the attack."""
    hw: Hatchway = served["hw"]
    proc = subprocess.Popen(
        [sys.executable, str(ROGUE), target, node, "/blue", "4", *([str(user)] if user else [])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "HOME": "/tmp"},
        cwd="/",
    )
    readyz_seen: set[int] = set()
    route_seen: set[int] = set()
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        readyz_seen.add(hw.readyz().status)
        route_seen.add(http_request(served["http"], "/blue").status)
        time.sleep(0.1)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err[-3000:]
    result: dict[str, Any] = json.loads(out)
    return {**result, "readyz_seen": readyz_seen, "route_seen": route_seen}


def assert_untouched(served: dict[str, Any]) -> None:
    """Traffic, readiness, status and the error list are as before the attack."""
    hw: Hatchway = served["hw"]
    assert http_request(served["http"], "/blue").status == 200
    r = https_request(served["https"], "/blue", sni="example.org", ca_pem=None)
    assert r.status == 200
    ready = hw.readyz()
    assert ready.status == 200, ready.json()
    assert hw.admin("/errors").json() == []
    resources = hw.admin("/status").json()["resources"]
    assert conditions(status_of(resources, "Gateway", "gw"))["Programmed"][0] == "True"
    app = status_of(resources, "HTTPRoute", "app")
    assert conditions(app["parents"][0])["Accepted"][0] == "True"
    assert "quarantined" not in hw.log(400)


def test_another_user_cannot_reach_the_xds_server(served: dict[str, Any]) -> None:
    if os.geteuid() != 0:
        pytest.skip("running the rogue as another user needs root")
    hw: Hatchway = served["hw"]
    target, node = xds_target(hw)
    # The strongest form: Envoy's own node id, which the admin API shows to anyone.
    result = run_rogue(served, target, node, user=NOBODY)
    assert result["received"] == {}, result
    assert result["private_keys"] == 0, result
    assert result["nacks_sent"] == 0, result
    assert result["ended"].startswith("UNAVAILABLE"), result
    assert (result["readyz_seen"], result["route_seen"]) == ({200}, {200}), result
    assert_untouched(served)


def test_a_foreign_node_is_refused(served: dict[str, Any]) -> None:
    """Our own user can open the socket, but a stream for another node gets nothing: no
    resources (so no secrets and no nonce to NACK), and PERMISSION_DENIED."""
    hw: Hatchway = served["hw"]
    target, node = xds_target(hw)
    result = run_rogue(served, target, f"{node}-rogue")
    assert result["received"] == {}, result
    assert result["private_keys"] == 0, result
    assert result["ended"].startswith("PERMISSION_DENIED"), result
    assert (result["readyz_seen"], result["route_seen"]) == ({200}, {200}), result
    assert_untouched(served)


def test_the_state_dir_serve_creates_is_private(
    tmp_path: Path, hatchway_factory: Callable[..., Hatchway]
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "gw.yaml", [gateway_class()])
    state = tmp_path / "new" / "state"
    hw = hatchway_factory(config, extra_args=["--state-dir", str(state)])
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    target, _ = xds_target(hw)
    assert target == f"unix:{state / 'xds.sock'}"


def test_a_state_dir_others_can_enter_is_refused(
    tmp_path: Path, hatchway_factory: Callable[..., Hatchway]
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "gw.yaml", [gateway_class()])
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    hw = hatchway_factory(config, wait_ready=False, extra_args=["--state-dir", str(shared)])
    assert hw.proc is not None
    assert hw.proc.wait(30) == 1
    assert f"the xDS socket's directory {shared} must be" in hw.log()
    assert "chmod 700 it or choose another state directory" in hw.log()
