"""Read Kubernetes objects from YAML/JSON files, directories and stdin (the I/O edge).

Decoding problems become `InputError`s (file, document index, line/column), never exceptions;
validation is `hatchway.model.parse.parse_documents`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import yaml

from hatchway.model import gcpause
from hatchway.model.inputs import Document, InputError
from hatchway.model.parse import ParseResult, parse_documents
from hatchway.sources import decoding

SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


def load_paths(paths: Sequence[str], stdin: IO[str] | None = None) -> ParseResult:
    """Parse every object in `paths` (files, directories read recursively, or "-" for stdin)."""
    with gcpause.paused():
        docs, errors = read_documents(paths, stdin)
        result = parse_documents(docs)
    return ParseResult(snapshot=result.snapshot, errors=(*errors, *result.errors))


def read_documents(
    paths: Sequence[str], stdin: IO[str] | None = None
) -> tuple[list[Document], list[InputError]]:
    """Decoded documents of `paths` in load order, and the files that could not be read."""
    docs: list[Document] = []
    errors: list[InputError] = []
    for path in paths:
        if path == STDIN:
            stream = stdin if stdin is not None else sys.stdin
            try:
                text = stream.read()
            except (OSError, UnicodeDecodeError) as exc:
                errors.append(_file_error(STDIN, f"cannot read standard input: {exc}"))
                continue
            _decode(STDIN, text, docs, errors)
            continue
        for file in _expand(Path(path), errors):
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                errors.append(_file_error(str(file), f"cannot read file: {_reason(exc)}"))
                continue
            _decode(str(file), text, docs, errors)
    return docs, errors


def _expand(path: Path, errors: list[InputError]) -> list[Path]:
    """The files a path stands for: itself, or a directory's YAML/JSON files sorted by path."""
    try:
        if path.is_dir():
            found = [p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file()]
            return sorted(found)
        if path.exists():
            return [path]
    except OSError as exc:
        errors.append(_file_error(str(path), f"cannot read path: {_reason(exc)}"))
        return []
    errors.append(_file_error(str(path), "no such file or directory"))
    return []


def _decode(source: str, text: str, docs: list[Document], errors: list[InputError]) -> None:
    """Append the documents of one file; a syntax error ends that file's documents."""
    index = 0
    try:
        # JSON documents are YAML too (flow style), so one decoder serves both.
        for body in decoding.load_all(text):
            docs.append(Document(source=source, index=index, body=body))
            index += 1
    except yaml.YAMLError as exc:
        errors.append(
            InputError(source, index, None, None, None, None, f"invalid YAML: {_yaml_reason(exc)}")
        )


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = f"{context}, {problem}" if context else str(problem)
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {text}"
    return text


def _reason(exc: OSError | UnicodeDecodeError) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)


def _file_error(source: str, message: str) -> InputError:
    return InputError(source, None, None, None, None, None, message)
