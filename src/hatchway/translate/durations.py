"""Gateway API durations (GEP-2257): `1h30m`, `500ms`, `0s`."""

from __future__ import annotations

import re

_PART = re.compile(r"([0-9]{1,5})(h|ms|m|s)")
_FACTOR = {"h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}


def duration_ms(value: str) -> int:
    """Milliseconds in a validated Duration string."""
    return sum(int(n) * _FACTOR[unit] for n, unit in _PART.findall(value))
