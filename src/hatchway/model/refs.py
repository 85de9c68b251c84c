"""An object's identity in the API sense, the one key every layer uses for "that object".

A plain tuple, on purpose: it keys per-object tables on every reload (parsing, generations,
quarantine), and a tuple is built in a few nanoseconds where a NamedTuple's constructor costs
ten times more (thousands per reload at 3,000 routes).
"""

from __future__ import annotations

from typing import Any

ObjectRef = tuple[str, str, str]  # kind, namespace ("" for cluster-scoped kinds), name


def ref_of(obj: Any) -> ObjectRef:
    """The identity of a parsed object (anything with `kind` and `metadata`)."""
    meta = obj.metadata
    return (obj.kind, meta.namespace or "", meta.name)


def shown(ref: ObjectRef) -> str:
    """`Kind/namespace/name`, or `Kind/name` when cluster-scoped (as logs and errors say)."""
    kind, namespace, name = ref
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"
