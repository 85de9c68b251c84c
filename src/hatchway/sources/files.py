"""Read Kubernetes objects from YAML/JSON files, directories and stdin (the I/O edge).

Decoding problems become `InputError`s (file, document index, line/column), never exceptions;
validation is `hatchway.model.parse.parse_documents`.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import yaml

from hatchway import gcpause
from hatchway.model.documents import Document, InputError
from hatchway.model.parse import ParseMemo, ParseResult, Stamper, input_order, parse_files
from hatchway.sources import clock, decoding

SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


FileStamp = tuple[int, int, int]  # inode, mtime (ns), size: a save changes at least one
FileDocs = tuple[str, tuple[Document, ...]]  # a file and its decoded documents


@dataclass
class DecodeCache:
    """Decoded documents per file, reused while the file is unchanged, so that under `serve`
    a save re-decodes only the saved file (decoding is most of a reload's cost with many files).
    Safe to share because parsing never mutates a decoded document."""

    entries: dict[str, tuple[FileStamp, tuple[Document, ...], tuple[InputError, ...]]] = field(
        default_factory=dict
    )


def load_paths(
    paths: Sequence[str],
    stdin: IO[str] | None = None,
    cache: DecodeCache | None = None,
    memo: ParseMemo | None = None,
    stamp: Stamper = input_order,
) -> ParseResult:
    """Parse every object in `paths` (files, directories read recursively, or "-" for stdin).

    `cache` and `memo` (kept by a long-running caller) skip decoding and validating files
    that did not change since the previous call."""
    with gcpause.paused():
        files, errors = read_files(paths, stdin, cache)
        result = observed(parse_files(files, memo, stamp))
    return dataclasses.replace(result, errors=(*errors, *result.errors), unreadable=tuple(errors))


def observed(result: ParseResult) -> ParseResult:
    """`result` with the time it was read: the core has no clock, and a certificate's expiry
    is judged as of the snapshot (`Snapshot.observed_at`)."""
    snapshot = dataclasses.replace(result.snapshot, observed_at=clock.now())
    return dataclasses.replace(result, snapshot=snapshot)


def read_documents(
    paths: Sequence[str], stdin: IO[str] | None = None, cache: DecodeCache | None = None
) -> tuple[list[Document], list[InputError]]:
    """Decoded documents of `paths` in load order, and the files that could not be read."""
    files, errors = read_files(paths, stdin, cache)
    return [doc for _, docs in files for doc in docs], errors


def read_files(
    paths: Sequence[str], stdin: IO[str] | None = None, cache: DecodeCache | None = None
) -> tuple[list[FileDocs], list[InputError]]:
    """Each file of `paths` in load order with its decoded documents, and the files that could
    not be read. An unchanged file (per `cache`) comes with the very same tuple of documents
    as before, which lets parsing reuse its whole result."""
    files: list[FileDocs] = []
    errors: list[InputError] = []
    fresh: dict[str, tuple[FileStamp, tuple[Document, ...], tuple[InputError, ...]]] = {}
    for path in paths:
        if path == STDIN:
            stream = stdin if stdin is not None else sys.stdin
            try:
                text = stream.read()
            except (OSError, UnicodeDecodeError) as exc:
                errors.append(_file_error(STDIN, f"cannot read standard input: {exc}"))
                continue
            stdin_docs: list[Document] = []
            _decode(STDIN, text, stdin_docs, errors)
            files.append((STDIN, tuple(stdin_docs)))
            continue
        for file in _expand(Path(path), errors):
            source = str(file)
            try:
                st = file.stat()
                stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
                hit = cache.entries.get(source) if cache is not None else None
                if hit is not None and hit[0] == stamp:
                    entry = hit
                else:
                    file_docs: list[Document] = []
                    file_errors: list[InputError] = []
                    _decode(source, file.read_text(encoding="utf-8"), file_docs, file_errors)
                    if file_errors and hit is not None and not hit[2]:
                        # A save that broke the file: keep serving its last good content (the
                        # cache keeps the good entry, so the next save is decoded again).
                        files.append((source, hit[1]))
                        errors += [_still_serving(e) for e in file_errors]
                        fresh[source] = hit
                        continue
                    if hit is not None:
                        file_docs = _keep_unchanged(hit[1], file_docs)
                    entry = (stamp, tuple(file_docs), tuple(file_errors))
            except (OSError, UnicodeDecodeError) as exc:
                errors.append(_file_error(source, f"cannot read file: {_reason(exc)}"))
                continue
            fresh[source] = entry
            files.append((source, entry[1]))
            errors += entry[2]
    if cache is not None:
        cache.entries = fresh  # files that went away are forgotten
    return files, errors


def _keep_unchanged(old: Sequence[Document], new: list[Document]) -> list[Document]:
    """`new`, but with the previous decoded object for each document equal to the one at
    the same position before: parsing and translation reuse their work per object, so
    editing one route in a file of thousands costs one route."""
    out: list[Document] = []
    for i, doc in enumerate(new):
        same = i < len(old) and old[i].body == doc.body
        out.append(dataclasses.replace(doc, body=old[i].body) if same else doc)
    return out


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


def _still_serving(error: InputError) -> InputError:
    return dataclasses.replace(
        error, message=error.message + "; its last good content keeps serving"
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
