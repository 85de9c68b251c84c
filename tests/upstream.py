"""Upstream Gateway API files (CRDs, conformance manifests) for tests, from the pinned cache
`hack/upstream/fetch.py` fills (`make upstream`; a cache miss downloads them once)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSION = os.environ.get("HATCHWAY_GATEWAY_API_VERSION", "v1.7.0")


def _fetcher() -> object:
    spec = importlib.util.spec_from_file_location("fetch", ROOT / "hack/upstream/fetch.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def crds(version: str = VERSION) -> Path:
    """`<dir>/standard/*.yaml` and `<dir>/experimental/*.yaml`."""
    return Path(_fetcher().fetch("crds", version))  # type: ignore[attr-defined]


def conformance(version: str = VERSION) -> Path:
    """The conformance module's manifests: `base/`, `tests/`, `mesh/`…"""
    return Path(_fetcher().fetch("conformance", version))  # type: ignore[attr-defined]
