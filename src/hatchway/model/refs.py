"""An object's identity in the API sense, the one key every layer uses for "that object"."""

from __future__ import annotations

from typing import Any, NamedTuple


class ObjectRef(NamedTuple):
    """Kind, namespace ("" for cluster-scoped kinds) and name. A tuple, so it hashes and
    compares as cheaply as one (it keys per-object tables on every reload)."""

    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Any) -> ObjectRef:
        """The identity of a parsed object (anything with `kind` and `metadata`)."""
        meta = obj.metadata
        return cls(obj.kind, meta.namespace or "", meta.name)

    def __str__(self) -> str:
        """`Kind/namespace/name`, or `Kind/name` when cluster-scoped (as logs and errors say)."""
        if not self.namespace:
            return f"{self.kind}/{self.name}"
        return f"{self.kind}/{self.namespace}/{self.name}"
