"""`hatchway controller` against a real API server that refuses it: one actionable line on
stderr and exit status 1, never a traceback (that only with `--log-level debug`)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, ServiceAccount, ServiceAccountToken

from .conftest import ROOT, STATE, free_port, rig_ports
from .test_deploy_k8s import SA_NS

pytestmark = pytest.mark.k8s


def run_controller(kubeconfig: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "hatchway",
            "controller",
            "--kubeconfig",
            str(kubeconfig),
            "--admin-address",
            f"127.0.0.1:{free_port()}",
            "--data-plane",
            "embedded",
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "POD_NAMESPACE": SA_NS},
    )


def the_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("hatchway controller:")]
    return line


def test_rbac_refusal_names_the_fix(client: Client, kubeconfig: Path, tmp_path: Path) -> None:
    """A ServiceAccount with no role bound: the first list is refused (403)."""
    client.apply(Namespace(metadata=ObjectMeta(name=SA_NS)), field_manager="test")
    client.apply(
        ServiceAccount(metadata=ObjectMeta(name="nobody", namespace=SA_NS)), field_manager="test"
    )
    issued = client.create(
        ServiceAccountToken(
            metadata=ObjectMeta(name="nobody", namespace=SA_NS),
            spec=TokenRequestSpec(audiences=[], expirationSeconds=600),
        ),
        "nobody",
        namespace=SA_NS,
    )
    config: dict[str, Any] = yaml.safe_load(kubeconfig.read_text())
    config["users"] = [{"name": "nobody", "user": {"token": issued.status.token}}]
    config["contexts"][0]["context"]["user"] = "nobody"
    nobody = tmp_path / "nobody.kubeconfig"
    nobody.write_text(yaml.safe_dump(config))
    line = the_line(run_controller(nobody))
    assert "403 Forbidden" in line and "templates/rbac.yaml" in line, line


@pytest.fixture(scope="module")
def bare_cluster(kubeconfig: Path) -> Iterator[Path]:
    """A second API server with no Gateway API CRDs (the rig's binaries, an empty CRD dir)."""
    empty = STATE.with_name(STATE.name + "-bare-crds")
    empty.mkdir(parents=True, exist_ok=True)
    ports = rig_ports()
    env = {
        **os.environ,
        "HATCHWAY_K8S_STATE": str(STATE.with_name(STATE.name + "-bare")),
        "HATCHWAY_K8S_API_PORT": str(ports[0]),
        "HATCHWAY_K8S_ETCD_PORT": str(ports[1]),
        "HATCHWAY_K8S_CRDS": str(empty),
        "PYTHON": sys.executable,
    }
    up = subprocess.run(
        [str(ROOT / "hack/k8s/up.sh")], env=env, capture_output=True, text=True, check=False
    )
    try:
        assert up.returncode == 0, up.stderr
        yield Path(up.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run([str(ROOT / "hack/k8s/down.sh")], env=env, check=False)
        empty.rmdir()


def test_missing_crds_say_install_them(bare_cluster: Path) -> None:
    line = the_line(run_controller(bare_cluster))
    assert "the Gateway API CRDs are not installed" in line, line
    assert "GatewayClass, Gateway, HTTPRoute" in line, line
