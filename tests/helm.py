"""The helm binary for tests: built once by `make prepare` (hack/helm/build.sh) from the
version pinned in hack/helm/gomod, never inside a test."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOMOD = ROOT / "hack" / "helm" / "gomod" / "go.mod"


def pinned_version() -> str:
    """The helm.sh/helm/v4 version the wrapper module requires (go.mod)."""
    match = re.search(r"^\s*helm\.sh/helm/v4 (v\S+)", GOMOD.read_text(), re.MULTILINE)
    assert match, f"no helm.sh/helm/v4 requirement in {GOMOD}"
    return match.group(1)


def helm_binary() -> Path:
    """Path of the cached helm build; fails the test with the command that builds it."""
    out = subprocess.run(
        [str(ROOT / "hack/helm/build.sh"), "--check"], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        pytest.fail(f"{out.stderr.strip()}")
    return Path(out.stdout.strip())


def helm_env(home: Path, kubeconfig: Path | None = None) -> dict[str, str]:
    """Helm's caches and config under `home` (never the user's), and the cluster to talk to."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),  # client-go's discovery cache goes to $HOME/.kube
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return env
