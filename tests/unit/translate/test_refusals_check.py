"""`hatchway status --check` fails on a value Envoy would refuse (it exited 0 on
`remove: [host]`), naming the route and the field; the quickstart alone still passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from hatchway.cli import main

QUICKSTART = str(Path(__file__).resolve().parents[3] / "examples" / "quickstart" / "gateway.yaml")

REMOVES_HOST = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: strip}
spec:
  parentRefs: [{name: demo}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /strip}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {remove: [host]}
    backendRefs: [{name: blue, port: 80}]
"""


def test_status_check_fails_on_a_header_filter_envoy_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "strip.yaml"
    bad.write_text(REMOVES_HOST)
    assert main(["status", "-f", QUICKSTART, "-f", str(bad), "--check"]) == 1
    err = capsys.readouterr().err
    assert "HTTPRoute default/strip" in err
    assert "UnsupportedValue" in err
    assert "spec.rules[0].filters[0].requestHeaderModifier.remove[0]" in err
