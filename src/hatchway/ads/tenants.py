"""Which data plane a snapshot is for: its tenant on the xDS server."""

from __future__ import annotations

Tenant = str  # "" (SHARED): the one data plane of serve; "namespace/name": a Gateway's own
SHARED: Tenant = ""


def tenant_of(owner: tuple[str, str] | None) -> Tenant:
    """The tenant of an IR partition's owner (None: the shared data plane)."""
    return SHARED if owner is None else f"{owner[0]}/{owner[1]}"
