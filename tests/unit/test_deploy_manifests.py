"""deploy/ keeps the admin API (configuration, status) on loopback and gives probes and
scrapers their own port; nothing in the repository points users at files they do not have."""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _container() -> dict[str, object]:
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "embedded" / "deployment.yaml").read_text()))
    deployment = next(d for d in docs if d and d["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(container)


def _flag(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_admin_api_is_loopback_and_probes_use_the_metrics_port() -> None:
    container = _container()
    args = [str(a) for a in container["args"]]  # type: ignore[attr-defined]
    admin_host = _flag(args, "--admin-address").rpartition(":")[0]
    assert ipaddress.ip_address(admin_host).is_loopback
    metrics_port = int(_flag(args, "--metrics-address").rpartition(":")[2])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}  # type: ignore[attr-defined]
    assert ports["metrics"] == metrics_port
    assert 19000 not in ports.values()
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] == "metrics"  # type: ignore[index]


def test_no_tracked_file_points_at_the_shared_folder() -> None:
    """Users never have `../shared`: no doc, script or runtime path may lead there."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = [
        name
        for name in tracked
        if not name.startswith("tests/golden/")
        and (ROOT / name).is_file()
        and "../shared" in (ROOT / name).read_text(errors="replace")
        and name != "tests/unit/test_deploy_manifests.py"
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "path", ["deploy/embedded/rbac.yaml", "deploy/helm/hatchway/templates/rbac.yaml"]
)
def test_rbac_lets_the_controller_list_and_watch_every_watched_kind(path: str) -> None:
    from hatchway.sources.kube import WATCHED

    # Helm template lines (`{{ ... }}`) left out: the rules themselves are plain YAML.
    text = "\n".join(line for line in (ROOT / path).read_text().splitlines() if "{{" not in line)
    docs = list(yaml.safe_load_all(text))
    role = next(d for d in docs if d and d["kind"] == "ClusterRole")
    readable = {
        (group, resource)
        for rule in role["rules"]
        if {"list", "watch"} <= set(rule["verbs"])
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    missing = [s.kind for s in WATCHED if (s.group, s.plural) not in readable]
    assert missing == []
