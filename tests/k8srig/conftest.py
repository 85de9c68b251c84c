"""Tests of the cluster rig itself (hack/k8s, hack/conformance/podrunner, hack/helm)."""

from __future__ import annotations

import sys
from pathlib import Path

from cluster import cluster  # noqa: F401  (the session fixture)

HARNESS = Path(__file__).resolve().parents[2] / "hack"
for sub in ("conformance", "k8s"):
    if str(HARNESS / sub) not in sys.path:
        sys.path.insert(0, str(HARNESS / sub))
