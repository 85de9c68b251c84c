"""The parser's input (one decoded YAML/JSON document) and its error record."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    """One decoded document: `source` names the file ("-" for stdin), `index` counts from 0."""

    source: str
    index: int
    body: object


@dataclass(frozen=True)
class InputError:
    """One input problem; exactly an item of the admin API's `GET /errors` (None = n/a)."""

    file: str | None
    document: int | None
    kind: str | None
    namespace: str | None
    name: str | None
    field: str | None
    message: str

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "document": self.document,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "field": self.field,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.document) if p is not None)
        obj = "/".join(p for p in (self.kind, self.namespace, self.name) if p)
        parts = [p for p in (where, obj, self.field) if p]
        return f"{' '.join(parts)}: {self.message}" if parts else self.message
