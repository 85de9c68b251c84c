"""The offline commands, run in-process as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hatchway.cli import main

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = str(ROOT / "examples" / "quickstart" / "gateway.yaml")

BROKEN_ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: orphan}
spec:
  parentRefs: [{name: demo, sectionName: nope}]
  rules:
  - backendRefs: [{name: missing, port: 80}]
"""


def test_status_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "-f", QUICKSTART, "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    kinds = sorted(r["kind"] for r in doc["resources"])
    assert kinds == ["Gateway", "GatewayClass", "HTTPRoute"]
    route = next(r for r in doc["resources"] if r["kind"] == "HTTPRoute")
    conds = {c["type"]: c for c in route["status"]["parents"][0]["conditions"]}
    assert conds["Accepted"]["status"] == "True"
    assert conds["Accepted"]["observedGeneration"] == 1
    assert conds["Accepted"]["lastTransitionTime"].endswith("Z")


def test_status_check_passes_on_quickstart(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "-f", QUICKSTART, "--check", "-o", "table"]) == 0


def test_status_check_fails_and_names_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BROKEN_ROUTE)
    assert main(["status", "-f", QUICKSTART, "-f", str(bad), "--check"]) == 1
    err = capsys.readouterr().err
    assert "HTTPRoute default/orphan" in err
    assert "NoMatchingParent" in err
    # Without --check the same input is reported but exits 0 (status is information).
    assert main(["status", "-f", QUICKSTART, "-f", str(bad)]) == 0


def test_input_error_names_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text(BROKEN_ROUTE.replace("sectionName: nope", "sectionName: nope, prot: 1"))
    assert main(["status", "-f", str(bad), "--check"]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "HTTPRoute default/orphan" in err and "prot" in err


def test_explain_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "-f", QUICKSTART, "-H", "x-color: green", "http://x:8080/a"]) == 0
    out = capsys.readouterr().out
    assert "Route      HTTPRoute/default/app rule 1 match 1" in out
    assert "default/green:80" in out
    assert "header: x-color missing" not in out


def test_explain_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "-f", QUICKSTART, "-o", "json", "http://x:8080/old"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["route"]["action"]["variant"] == "Redirect"
    assert doc["outcome"] == "301 redirect"
    assert all(c["reason"] for c in doc["notChosen"])


def test_translate_yaml_lists_every_type(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["translate", "-f", QUICKSTART, "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"listeners", "routes", "clusters", "endpoints"} <= set(doc)
    assert any(c["name"] == "default/blue:80" for c in doc["clusters"])


def test_status_check_fails_on_a_certificate_envoy_would_refuse(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Offline status judges certificates as `serve` and the controller do (the shared core),
    and expiry as of the time the files were read."""
    case = ROOT / "tests" / "golden" / "translate" / "gateway-certificate-checks" / "input.yaml"
    assert main(["status", "-f", str(case), "--check", "-o", "table"]) == 1
    err = capsys.readouterr().err
    assert (
        "Gateway infra/gw listener mismatched: ResolvedRefs=False (InvalidCertificateRef): "
        "certificateRef infra/mismatched: tls.key does not match the certificate" in err
    )
    assert "Gateway infra/gw listener mismatched: Programmed=False (Invalid)" in err
    assert "Gateway infra/client-cert: ResolvedRefs=False (InvalidClientCertificateRef)" in err
    assert (
        "warning: Gateway/infra/gw: listener expired: certificate infra/expired expired at "
        "2021-01-01T00:00:00Z" in err
    )
