"""The parser's input (one decoded YAML/JSON document) and its error record."""

from __future__ import annotations

from dataclasses import dataclass

from hatchway.model.shown import LIMIT, MESSAGE_LIMIT, cut


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
    # Not an error: an object of a kind Hatchway does not use (e.g. a Deployment beside the
    # routes), skipped by design and summed up in one line, never on `/errors`.
    skipped: bool = False

    def __post_init__(self) -> None:
        # Bounded whoever built it: a message never grows with the input (values are quoted
        # cut, see `shown`), and names of invalid objects can be anything.
        for attr, limit in (
            ("message", MESSAGE_LIMIT),
            ("field", MESSAGE_LIMIT),
            ("name", 2 * LIMIT),
            ("namespace", 2 * LIMIT),
            ("kind", 2 * LIMIT),
            ("file", MESSAGE_LIMIT),
        ):
            value = getattr(self, attr)
            if isinstance(value, str) and len(value) > limit:
                object.__setattr__(self, attr, cut(value, limit))

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
        """One line a person can act on: `file (document N): Kind ns/name: field: message`."""
        where = self.file or "<input>"
        if self.document is not None:
            where += f" (document {self.document})"
        parts = [where]
        if self.kind:
            ns = f"{self.namespace}/" if self.namespace else ""
            parts.append(f"{self.kind} {ns}{self.name or '?'}")
        if self.field:
            parts.append(self.field)
        return f"{': '.join(parts)}: {self.message}"
