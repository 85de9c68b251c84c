"""parse_documents: decoded documents → validated, defaulted Snapshot plus input errors.

Pure: the caller reads files (see `hatchway.sources.files`). An invalid object is dropped and
reported; everything else still loads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from hatchway.model import gcpause, rules
from hatchway.model.core import NAMESPACE_NAME_LABEL
from hatchway.model.inputs import Document, InputError
from hatchway.model.kinds import KINDS, KindInfo
from hatchway.model.meta import EPOCH
from hatchway.model.snapshot import Snapshot

__all__ = ["Document", "InputError", "ParseResult", "parse_documents"]

# Pydantic reports every error of an object; a few are enough to fix the first problems.
MAX_ERRORS_PER_OBJECT = 20


@dataclass(frozen=True)
class ParseResult:
    snapshot: Snapshot
    errors: tuple[InputError, ...]


@dataclass
class _Origin:
    source: str
    index: int


# (the decoded object it was computed from, the result, the errors it produced)
_Memoized = tuple[dict[str, Any], "tuple[KindInfo, BaseModel] | None", tuple[InputError, ...]]


@dataclass
class ParseMemo:
    """Validated objects of the previous parse, keyed by the decoded document's identity and
    the creationTimestamp it gets when it has none. A caller that reuses decoded
    documents for unchanged files (serve's DecodeCache) then re-validates only what changed."""

    entries: dict[tuple[int, datetime], _Memoized] = field(default_factory=dict)
    # Raw (kind, namespace, name) of each decoded document by identity, to skip re-reading it.
    raw_keys: dict[int, tuple[dict[str, Any], ObjectKey]] = field(default_factory=dict)


ObjectKey = tuple[str, str, str]  # kind, namespace (as written, may be ""), name
# The creationTimestamp an object without one gets, from its key and its position in the input.
Stamper = Callable[[ObjectKey, int], datetime]


def input_order(key: ObjectKey, position: int) -> datetime:
    """The contract's default: timestamps in input order, so precedence ties are stable."""
    return EPOCH + timedelta(seconds=position)


def parse_documents(
    docs: Sequence[Document], memo: ParseMemo | None = None, stamp: Stamper = input_order
) -> ParseResult:
    """Validate every object of `docs` (in order) and gather them into a Snapshot."""
    with gcpause.paused():
        return _parse(docs, memo, stamp)


def _parse_memoized(
    doc: Document,
    body: dict[str, Any],
    created: datetime,
    errors: list[InputError],
    *,
    memo: ParseMemo | None,
    fresh: dict[tuple[int, datetime], _Memoized],
) -> tuple[KindInfo, BaseModel] | None:
    if memo is None:
        return _parse_object(doc, body, created, errors)
    key = (id(body), created)
    hit = memo.entries.get(key)
    # The entry holds `body` alive, so an equal id is the same object, not a reused address.
    if hit is None or hit[0] is not body:
        own: list[InputError] = []
        hit = (body, _parse_object(doc, body, created, own), tuple(own))
    fresh[key] = hit
    errors.extend(hit[2])
    return hit[1]


def _raw_key(body: dict[str, Any]) -> ObjectKey:
    meta = body.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    return (str(body.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name")))


def _parse(docs: Sequence[Document], memo: ParseMemo | None, stamp: Stamper) -> ParseResult:
    fresh: dict[tuple[int, datetime], _Memoized] = {}
    keys: dict[int, tuple[dict[str, Any], ObjectKey]] = {}
    errors: list[InputError] = []
    buckets: dict[str, list[BaseModel]] = {info.field: [] for info in KINDS.values()}
    seen: dict[tuple[str, str, str], _Origin] = {}
    known_keys = memo.raw_keys if memo is not None else {}
    position = 0
    for doc in docs:
        for body in _objects(doc, errors):
            # The raw key of a document seen before is remembered with it (same object).
            kept = known_keys.get(id(body))
            raw_key = kept[1] if kept is not None and kept[0] is body else _raw_key(body)
            keys[id(body)] = (body, raw_key)
            created = stamp(raw_key, position)
            obj = _parse_memoized(doc, body, created, errors, memo=memo, fresh=fresh)
            position += 1
            if obj is None:
                continue
            info, model = obj
            meta = model.metadata  # type: ignore[attr-defined]
            key = (info.kind, meta.namespace, meta.name)
            first = seen.get(key)
            if first is not None:
                errors.append(
                    InputError(
                        doc.source,
                        doc.index,
                        info.kind,
                        meta.namespace or None,
                        meta.name,
                        None,
                        f"duplicate {info.kind} (first defined in {first.source} document "
                        f"{first.index}); this one is ignored",
                    )
                )
                continue
            seen[key] = _Origin(doc.source, doc.index)
            buckets[info.field].append(model)
    if memo is not None:
        memo.entries = fresh  # forget objects that are gone
        memo.raw_keys = keys
    snapshot = Snapshot(**{f: tuple(items) for f, items in buckets.items()})  # type: ignore[arg-type]
    return ParseResult(snapshot=snapshot, errors=tuple(errors))


def _objects(doc: Document, errors: list[InputError]) -> Iterator[dict[str, Any]]:
    """The objects of one document: itself, or the items of a `kind: List`."""
    body = doc.body
    if body is None:  # an empty YAML document (e.g. a trailing `---`)
        return
    if not isinstance(body, dict):
        errors.append(_doc_error(doc, None, f"expected an object, got {_type_name(body)}"))
        return
    if body.get("kind") == "List" or (
        isinstance(body.get("kind"), str) and body["kind"].endswith("List") and "items" in body
    ):
        items = body.get("items") or []
        if not isinstance(items, list):
            errors.append(_doc_error(doc, "items", f"expected a list, got {_type_name(items)}"))
            return
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield item
            else:
                errors.append(
                    _doc_error(doc, f"items[{i}]", f"expected an object, got {_type_name(item)}")
                )
        return
    yield body


def _parse_object(
    doc: Document, body: dict[str, Any], created: datetime, errors: list[InputError]
) -> tuple[KindInfo, BaseModel] | None:
    kind = body.get("kind")
    api_version = body.get("apiVersion")
    meta = body.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    name = name if isinstance(name, str) else None
    namespace = namespace if isinstance(namespace, str) and namespace else None

    def error(field: str | None, message: str, ns: str | None = namespace) -> None:
        errors.append(
            InputError(
                doc.source,
                doc.index,
                kind if isinstance(kind, str) else None,
                ns,
                name,
                field,
                message,
            )
        )

    if not isinstance(kind, str) or not kind:
        error("kind", "Required value: every object needs a kind")
        return None
    info = KINDS.get(kind)
    if info is None:
        error(None, f"unknown kind {kind!r} (apiVersion {api_version!r}); skipped")
        return None
    if api_version not in info.api_versions:
        supported = ", ".join(sorted(info.api_versions))
        error("apiVersion", f"Unsupported value: {api_version!r}: supported values: {supported}")
        return None
    if not isinstance(meta, dict):
        error("metadata", "Required value: metadata.name is required")
        return None

    namespace = (namespace or "default") if info.namespaced else None
    body = _prepare(body, info, namespace or "", name, created)
    try:
        model = info.model.model_validate(body, by_alias=True, by_name=False)
    except ValidationError as exc:
        for field, message in _pydantic_errors(exc, body)[:MAX_ERRORS_PER_OBJECT]:
            error(field, message, namespace)
        return None
    violations = rules.check(model)
    for v in violations[:MAX_ERRORS_PER_OBJECT]:
        error(v.field, v.message, namespace)
    if violations:
        return None
    return info, model


def _prepare(
    body: dict[str, Any], info: KindInfo, namespace: str, name: str | None, created: datetime
) -> dict[str, Any]:
    """A copy of `body` with status dropped and the loader's metadata defaults filled in."""
    body = {k: v for k, v in body.items() if k != "status"}
    meta = dict(body["metadata"])
    meta["namespace"] = namespace
    if meta.get("creationTimestamp") is None:
        meta["creationTimestamp"] = created
    if info.kind == "Namespace" and name is not None:
        labels = meta.get("labels")
        labels = dict(labels) if isinstance(labels, dict) else {}
        # The API server adds this label to every Namespace; allowedRoutes selectors rely on it.
        labels[NAMESPACE_NAME_LABEL] = name
        meta["labels"] = labels
    body["metadata"] = meta
    return body


def _pydantic_errors(exc: ValidationError, body: object) -> list[tuple[str, str]]:
    items = exc.errors()
    locs = [item["loc"] for item in items]
    out: list[tuple[str, str]] = []
    for item in items:
        loc = item["loc"]
        # Pydantic re-checks a list's length after dropping its invalid items; that echo of
        # an error already reported inside the list would only confuse.
        if item["type"] == "too_short" and any(
            len(other) > len(loc) and other[: len(loc)] == loc for other in locs
        ):
            continue
        entry = (_field_path(loc, body), _message(item))
        if entry not in out:
            out.append(entry)
    return out


def _field_path(loc: tuple[int | str, ...], body: object) -> str:
    """Pydantic's error location → `spec.rules[0].matches[1].path.value`.

    Pydantic inserts union-member tags (`int`, `str`…) into locations; walking the input along
    the location tells those apart from real keys.
    """
    out = ""
    data: object = body
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            data = data[part] if isinstance(data, list) and part < len(data) else None
        elif isinstance(data, dict):
            out += f".{part}" if out else part
            data = data.get(part)
        elif data is None and not out.endswith(f".{part}"):
            # Past a missing key: pydantic adds no tags there, so this is a real field.
            out += f".{part}" if out else part
        # Otherwise a union tag inside a scalar: skip it.
    return out


def _message(item: Any) -> str:
    kind: str = item["type"]
    if kind == "missing":
        return "Required value"
    if kind == "extra_forbidden":
        return "unknown field"
    shown = json.dumps(item.get("input"), default=str)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    msg: str = item["msg"]
    return f"Invalid value: {shown}: {msg}"


def _doc_error(doc: Document, field: str | None, message: str) -> InputError:
    return InputError(doc.source, doc.index, None, None, None, field, message)


def _type_name(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__
