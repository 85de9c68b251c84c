"""helm, built from the Go module proxy at the pinned version, against the rig."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from lightkube import ApiError
from lightkube.resources.core_v1 import ConfigMap

from cluster import Cluster, wait_for
from helm import helm_binary, helm_env, pinned_version

pytestmark = pytest.mark.k8s


def test_helm_reports_the_pinned_version(tmp_path: Path) -> None:
    out = subprocess.run(
        [str(helm_binary()), "version", "--template", "{{.Version}}"],
        env=helm_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == pinned_version()


def _chart(root: Path) -> Path:
    chart = root / "tiny"
    (chart / "templates").mkdir(parents=True)
    meta = {"apiVersion": "v2", "name": "tiny", "version": "0.1.0"}
    (chart / "Chart.yaml").write_text(yaml.safe_dump(meta))
    (chart / "values.yaml").write_text("greeting: hello\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-greeting\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n"
    )
    return chart


def test_helm_installs_and_uninstalls_a_chart_on_the_rig(cluster: Cluster, tmp_path: Path) -> None:
    helm = str(helm_binary())
    env = helm_env(tmp_path, cluster.kubeconfig)
    chart = _chart(tmp_path)
    run = lambda *a: subprocess.run(  # noqa: E731
        [helm, *a], env=env, capture_output=True, text=True, check=True, timeout=120
    )
    assert "0 chart(s) failed" in run("lint", str(chart)).stdout
    run("install", "demo", str(chart), "--namespace", "default", "--set", "greeting=hi", "--wait")
    cm = cluster.client.get(ConfigMap, "demo-greeting", namespace="default")
    assert cm.data == {"greeting": "hi"}
    run("uninstall", "demo", "--namespace", "default", "--wait")

    def gone() -> bool:
        try:
            cluster.client.get(ConfigMap, "demo-greeting", namespace="default")
        except ApiError as exc:
            return exc.status.code == 404
        return False

    wait_for("the release's ConfigMap removed", gone, 30)
