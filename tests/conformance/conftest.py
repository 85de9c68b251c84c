"""The conformance harness lives in hack/conformance (not a package of the project)."""

from __future__ import annotations

import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[2] / "hack" / "conformance"
if str(HARNESS) not in sys.path:
    sys.path.insert(0, str(HARNESS))
