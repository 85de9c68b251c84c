"""`--log-format json`: every line Hatchway logs (serve, proxy, controller) is one JSON object,
Envoy's relayed lines included, with their Envoy fields."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from e2e.harness import ROOT, Hatchway, free_port, write_yaml
from manifests import gateway_class, http_gateway

pytestmark = pytest.mark.e2e

Factory = Callable[..., Hatchway]


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_serve_logs_json_lines(tmp_path: Path, hatchway_factory: Factory) -> None:
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "gw.yaml", [gateway_class(), http_gateway("demo", free_port())])
    stdout = tmp_path / "stdout"
    hw = hatchway_factory(
        config,
        extra_args=["--log-format", "json", "--envoy-log-level", "info"],
        stdout_path=stdout,
    )
    assert hw.stop() == 0
    records = _json_lines(hw.log_path.read_text())  # every line parses
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any(r["logger"] == "hatchway.serve" and "serving" in r["message"] for r in records)
    relayed = [r for r in records if r["logger"] == "hatchway.envoy" and "envoy" in r]
    assert relayed and {"level", "logger", "message"} <= set(relayed[0]["envoy"])
    assert records[0]["time"].endswith("+00:00")


def _cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HOME": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "hatchway", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_proxy_and_controller_log_json_lines(tmp_path: Path) -> None:
    state = tmp_path / "state"  # a proxy Pod's state dir, with no Envoy running
    state.mkdir()
    drained = _cli(
        ["proxy", "--drain", "--state-dir", str(state), "--log-format", "json"], tmp_path
    )
    assert drained.returncode == 0
    (line,) = _json_lines(drained.stderr)
    assert line["level"] == "WARNING" and line["logger"] == "hatchway.proxy"
    assert "no running Envoy" in line["message"]

    failed = _cli(
        [
            "controller",
            "--kubeconfig",
            str(tmp_path / "missing"),
            "--data-plane",
            "embedded",
            "--log-format",
            "json",
            "--log-level",
            "debug",
        ],
        tmp_path,
    )
    assert failed.returncode == 1
    logged = [json.loads(x) for x in failed.stderr.splitlines() if x.startswith("{")]
    assert logged and all({"time", "level", "logger", "message"} <= set(r) for r in logged)
    details = next(r for r in logged if r["logger"] == "hatchway.controller")
    assert "Traceback" in details["exc_info"]  # a traceback stays inside its JSON line
