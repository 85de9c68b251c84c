"""The Envoy validate harness used by the golden test really fails on bad config."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hatchway import ir, xds
from test_xds_golden import envoy_binary, static_bootstrap

from .ir_samples import http_ir, vhost


@pytest.mark.e2e
def test_envoy_validate_rejects_a_bad_regex(tmp_path: Path) -> None:
    bad = ir.Route(
        name="bad",
        origin=ir.Origin("HTTPRoute", "default", "bad"),
        match=ir.Match(ir.PathMatch(ir.PathMatchType.REGEX, "(unclosed")),
        action=ir.DirectResponse(200),
    )
    config = tmp_path / "bootstrap.json"
    boot = static_bootstrap(xds.build(http_ir(vhost("*", bad))))
    config.write_text(json.dumps(xds.message_to_dict(boot, show_secrets=True)))
    proc = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(config), "-l", "error"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "unclosed" in proc.stdout + proc.stderr
