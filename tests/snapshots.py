"""Objects (dicts, or a YAML file) -> parsed Snapshot, the one way every test builds one.

Documents are numbered as `serve` numbers a file's documents: from 0, empty ones counted
(the parser skips them), so an error names the same document it would for a real file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from hatchway.model.parse import Document, ParseResult, parse_documents
from hatchway.model.snapshot import Snapshot


def documents(bodies: Iterable[object], source: str = "in.yaml") -> list[Document]:
    return [Document(source, i, body) for i, body in enumerate(bodies)]


def parse(bodies: Iterable[object], source: str = "in.yaml") -> ParseResult:
    return parse_documents(documents(bodies, source))


def snapshot(bodies: Iterable[object], source: str = "in.yaml") -> Snapshot:
    """The Snapshot of objects that must all be valid (else the test fails, naming the errors)."""
    result = parse(bodies, source)
    assert not result.errors, [e.to_dict() for e in result.errors]
    return result.snapshot


def read_yaml(path: Path) -> list[object]:
    """The documents of a YAML file, empty ones dropped."""
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def parse_file(path: Path, source: str | None = None) -> ParseResult:
    """A YAML file parsed as one source (default: its file name)."""
    return parse(yaml.safe_load_all(path.read_text()), source or path.name)


def file_snapshot(path: Path, source: str | None = None) -> Snapshot:
    """The Snapshot of a YAML file whose objects must all be valid."""
    return snapshot(yaml.safe_load_all(path.read_text()), source or path.name)
