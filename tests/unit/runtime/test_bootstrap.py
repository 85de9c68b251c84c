"""The bootstrap is accepted by the real Envoy binary (`--mode validate`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from hatchway.runtime.envoy import envoy_binary
from hatchway.xds.bootstrap import XDS_CLUSTER, BootstrapSettings, bootstrap


def test_envoy_validates_bootstrap(tmp_path: Path) -> None:
    cfg = bootstrap(BootstrapSettings(node_id="n1", xds_socket="/run/hatchway/xds.sock"))
    assert cfg["dynamic_resources"]["ads_config"]["api_type"] == "DELTA_GRPC"
    assert cfg["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    xds = cfg["static_resources"]["clusters"][0]["load_assignment"]["endpoints"][0]
    assert xds["lb_endpoints"][0]["endpoint"]["address"] == {
        "pipe": {"path": "/run/hatchway/xds.sock"}
    }
    actions = {a["name"]: a["triggers"][0] for a in cfg["overload_manager"]["actions"]}
    assert {name: t["threshold"]["value"] for name, t in actions.items()} == {
        "envoy.overload_actions.shrink_heap": 0.95,
        "envoy.overload_actions.stop_accepting_requests": 0.98,
    }
    path = tmp_path / "bootstrap.json"
    path.write_text(json.dumps(cfg))
    r = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(path), "--use-dynamic-base-id"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK" in r.stdout


def test_broken_bootstrap_is_refused(tmp_path: Path) -> None:
    # The validation above can fail: a cluster without a name is rejected.
    cfg = bootstrap(BootstrapSettings(node_id="n1", xds_socket="/run/hatchway/xds.sock"))
    cfg["static_resources"]["clusters"][0]["name"] = ""
    assert (
        cfg["dynamic_resources"]["ads_config"]["grpc_services"][0]["envoy_grpc"]["cluster_name"]
        == XDS_CLUSTER
    )
    path = tmp_path / "bootstrap.json"
    path.write_text(json.dumps(cfg))
    r = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(path), "--use-dynamic-base-id"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert r.returncode != 0
