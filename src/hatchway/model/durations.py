"""Gateway API Duration strings (GEP-2257): `1h30m`, `500ms`, `0s`."""

from __future__ import annotations

import re

_PART = re.compile(r"([0-9]{1,5})(h|ms|m|s)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def duration_seconds(value: str) -> float:
    """Seconds in a Duration already checked against the CRD pattern."""
    return sum(int(n) * _SECONDS[unit] for n, unit in _PART.findall(value))


def duration_millis(value: str) -> int:
    """Milliseconds in a Duration, exact (the smallest unit is 1 ms)."""
    total = 0
    for n, unit in _PART.findall(value):
        total += int(n) * {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}[unit]
    return total
