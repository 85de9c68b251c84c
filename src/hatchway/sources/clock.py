"""The one clock: every time the gateway reads from the world comes from here (the core has
no clock; what it needs, e.g. when objects were read, enters as input)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def now_rfc3339() -> str:
    """The current time as Kubernetes writes it in status (`2026-12-04T17:50:00Z`)."""
    return now().replace(microsecond=0).isoformat().replace("+00:00", "Z")
