"""parse_documents: decoded documents → validated, defaulted Snapshot plus input errors.

Pure: the caller reads files (see `hatchway.sources.files`). An invalid object is dropped and
reported; everything else still loads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from hatchway import gcpause
from hatchway.model import names, rules
from hatchway.model.core import NAMESPACE_NAME_LABEL
from hatchway.model.documents import Document, InputError
from hatchway.model.kinds import KINDS, KindInfo
from hatchway.model.meta import EPOCH
from hatchway.model.refs import ObjectRef
from hatchway.model.shown import cut, name_of, shown
from hatchway.model.snapshot import Snapshot

__all__ = [
    "Document",
    "InputError",
    "KnownStamps",
    "ParseMemo",
    "ParseResult",
    "parse_documents",
    "parse_files",
]

# Pydantic reports every error of an object; a few are enough to fix the first problems.
MAX_ERRORS_PER_OBJECT = 20

KIND_OF_FIELD = {info.field: info.kind for info in KINDS.values()}


@dataclass(frozen=True)
class ParseResult:
    snapshot: Snapshot
    errors: tuple[InputError, ...]
    # The creationTimestamp chosen for each object (by raw key, the first in load order wins),
    # whether or not the document stated its own. Read-only: it may be handed back as
    # `KnownStamps.known`, and a parse then trusts it by identity.
    stamps: Mapping[ObjectRef, datetime] = field(default_factory=dict)
    newest: datetime | None = None  # the youngest stamp chosen (None: no objects)
    # The snapshot in pieces: per file (or whole input) and kind, the objects kept, in order.
    # Pieces of an unchanged file are the very same tuples as last parse, so a caller can
    # skip per-object work on them (see sources.generations).
    parts: tuple[Part, ...] = ()
    # Objects of kinds Hatchway does not use (see `skipped_summary`).
    skipped: tuple[InputError, ...] = ()
    # The errors (also in `errors`) of files that could not be read or decoded at all.
    unreadable: tuple[InputError, ...] = ()


# The creationTimestamp an object without one gets, from its key and its position in the input.
Stamper = Callable[[ObjectRef, int], datetime]
Part = tuple[str, tuple[BaseModel, ...]]  # a Snapshot field and objects of it, in input order


def input_order(key: ObjectRef, position: int) -> datetime:
    """The contract's default: timestamps in input order, so precedence ties are stable."""
    return EPOCH + timedelta(seconds=position)


@dataclass(frozen=True)
class KnownStamps:
    """A Stamper with memory: a key in `known` keeps its stamp wherever it moves, others get
    `fresh(key, position)`. Stated as data so that a parse can tell, with one C-level subset
    test, that every object of an unchanged file keeps its stamp, and reuse the file whole."""

    known: Mapping[ObjectRef, datetime]
    fresh: Stamper = input_order

    def __call__(self, key: ObjectRef, position: int) -> datetime:
        ts = self.known.get(key)
        return ts if ts is not None else self.fresh(key, position)


# (the decoded object it was computed from, the result, the errors it produced)
_Memoized = tuple[dict[str, Any], "tuple[KindInfo, BaseModel] | None", tuple[InputError, ...]]
# A document's object by what it says it is: (raw key, how many objects of the file had that
# key before it, creationTimestamp); reused only while the decoded object is equal.
_EntryKey = tuple["ObjectRef", int, datetime]
_Origin = tuple[str, int]  # file, document index


@dataclass(eq=False)
class _FileParse:
    """One file's parse: a pure function of its documents and the stamps its objects got."""

    docs: Sequence[Document]
    # The stamper, when it is a pure function of key and position; not a `KnownStamps`, whose
    # map of every object's stamp each file would otherwise keep alive (one per parse).
    stamper: Stamper | None
    start: int  # position of its first object in the whole input
    count: int  # objects it holds (valid or not): positions it takes
    stamps: dict[ObjectRef, datetime]
    restampable: bool  # no raw key repeats, so `stamps` says what every object got
    newest: datetime | None  # the youngest of `stamps`
    parts: tuple[Part, ...]  # valid objects per kind, without the file's own duplicates
    origins: dict[ObjectRef, _Origin]  # kept objects by (kind, namespace, name)
    keys: frozenset[ObjectRef]
    errors: tuple[InputError, ...]
    # Per object, to re-validate only changed objects of a changed file.
    entries: dict[_EntryKey, _Memoized]
    # The latest `ParseResult.stamps` that holds all of `stamps` unchanged: when it comes
    # back as `KnownStamps.known`, the file keeps its stamps without a per-object check.
    stamped_into: Mapping[ObjectRef, datetime] | None = None


@dataclass
class ParseMemo:
    """The previous parse per file (a caller that reuses decoded documents for unchanged files,
    like serve's DecodeCache, then pays only for what changed): an unchanged file whose objects
    keep their stamps is reused whole; otherwise objects are looked up by kind, namespace,
    name and creationTimestamp, and validated again unless equal to the one seen before."""

    files: dict[str, _FileParse] = field(default_factory=dict)


def parse_documents(
    docs: Sequence[Document], memo: ParseMemo | None = None, stamp: Stamper = input_order
) -> ParseResult:
    """Validate every object of `docs` (in order) and gather them into a Snapshot."""
    return parse_files([("", tuple(docs))], memo, stamp)


def parse_files(
    files: Sequence[tuple[str, Sequence[Document]]],
    memo: ParseMemo | None = None,
    stamp: Stamper = input_order,
) -> ParseResult:
    """`parse_documents` over named files in load order. A file whose documents equal those
    of the previous parse (with `memo`) is not looked at again if its objects keep their
    stamps: its result is spliced in with C-level operations."""
    with gcpause.paused():
        return _parse(files, memo, stamp)


def _reusable(parse: _FileParse, docs: Sequence[Document], stamp: Stamper, start: int) -> bool:
    # The same documents (an unchanged file usually comes back as the same tuple: then the
    # comparison stops at once).
    if not (parse.docs is docs or _same_documents(parse.docs, docs)):
        return False
    if isinstance(stamp, KnownStamps):
        if not parse.restampable:
            return False  # which object got which stamp is not known: parsed again
        known = stamp.known
        # `stamped_into` holds all of `stamps`: being it answers the subset test at once.
        return known is parse.stamped_into or parse.stamps.items() <= known.items()
    # Any other stamper is taken to be a pure function of key and position.
    return parse.stamper == stamp and parse.start == start


def _same_documents(a: Sequence[Document], b: Sequence[Document]) -> bool:
    return len(a) == len(b) and all(
        x.source == y.source and x.index == y.index and same_json(x.body, y.body)
        for x, y in zip(a, b, strict=True)
    )


def _parse(
    files: Sequence[tuple[str, Sequence[Document]]], memo: ParseMemo | None, stamp: Stamper
) -> ParseResult:
    before = memo.files if memo is not None else {}
    fresh: dict[str, _FileParse] = {}
    used: list[_FileParse] = []
    buckets: dict[str, list[BaseModel]] = {info.field: [] for info in KINDS.values()}
    parts: list[Part] = []
    errors: list[InputError] = []
    taken: set[ObjectRef] = set()
    position = 0
    for name, docs in files:
        parse = before.get(name)
        if parse is None or not _reusable(parse, docs, stamp, position):
            parse = _parse_file(docs, parse, stamp, position)
        fresh.setdefault(name, parse)
        position += parse.count
        if parse.keys.isdisjoint(taken):  # the usual case: no duplicate across files
            kept: Sequence[Part] = parse.parts
            taken |= parse.keys
            errors += parse.errors
        else:
            kept, duplicates = _drop_taken(parse, taken, used)
            errors += sorted((*parse.errors, *duplicates), key=lambda e: e.document or 0)
        used.append(parse)
        for kind_field, models in kept:
            buckets[kind_field] += models
        parts += kept
    if memo is not None:
        memo.files = fresh  # forget files that are gone
    chosen: dict[ObjectRef, datetime] = {}
    for file_parse in reversed(used):  # the first in load order wins
        chosen.update(file_parse.stamps)
    if len(chosen) == sum(len(p.stamps) for p in used):  # no file overrode another's stamp
        for file_parse in used:
            file_parse.stamped_into = chosen
    newest = max((p.newest for p in used if p.newest is not None), default=None)
    snapshot = Snapshot(**{f: tuple(items) for f, items in buckets.items()})  # type: ignore[arg-type]
    skipped = tuple(e for e in errors if e.skipped)
    if skipped:
        errors = [e for e in errors if not e.skipped]
    return ParseResult(snapshot, tuple(errors), chosen, newest, tuple(parts), skipped)


def skipped_summary(skipped: Sequence[InputError]) -> str | None:
    """One line for the objects of kinds Hatchway does not use, e.g. a manifest folder's
    Deployments: `skipped 3 objects of kinds Hatchway does not use: Deployment (2), Job (1)`."""
    if not skipped:
        return None
    counts: dict[str, int] = {}
    for e in skipped:
        counts[e.kind or "?"] = counts.get(e.kind or "?", 0) + 1
    kinds = ", ".join(f"{k} ({n})" for k, n in sorted(counts.items()))
    return f"skipped {len(skipped)} objects of kinds Hatchway does not use: {kinds}"


def _drop_taken(
    parse: _FileParse, taken: set[ObjectRef], earlier: Sequence[_FileParse]
) -> tuple[list[Part], list[InputError]]:
    """The file's parts without objects an earlier file defined (and the errors saying so);
    marks the others taken."""
    kept: list[Part] = []
    errors: list[InputError] = []
    for kind_field, models in parse.parts:
        kind = KIND_OF_FIELD[kind_field]
        out: list[BaseModel] = []
        for model in models:
            meta = model.metadata  # type: ignore[attr-defined]
            key = (kind, meta.namespace, meta.name)
            if key in taken:
                # The earliest file defining it kept it: first wins.
                first = next(p.origins[key] for p in earlier if key in p.origins)
                errors.append(_duplicate(parse.origins[key], kind, meta, first))
                continue
            taken.add(key)
            out.append(model)
        if out:
            kept.append((kind_field, tuple(out)))
    return kept, errors


def _duplicate(at: _Origin, kind: str, meta: Any, first: _Origin) -> InputError:
    return InputError(
        at[0],
        at[1],
        kind,
        meta.namespace or None,
        meta.name,
        None,
        f"duplicate {kind} (first defined in {first[0]} document {first[1]}); this one is ignored",
    )


def _parse_file(
    docs: Sequence[Document], before: _FileParse | None, stamp: Stamper, start: int
) -> _FileParse:
    old_entries = before.entries if before is not None else {}
    entries: dict[_EntryKey, _Memoized] = {}
    seen: dict[ObjectRef, int] = {}  # raw key -> objects of this file with it so far
    stamps: dict[ObjectRef, datetime] = {}
    restampable = True
    errors: list[InputError] = []
    buckets: dict[str, list[BaseModel]] = {}
    origins: dict[ObjectRef, _Origin] = {}
    position = start
    for doc in docs:
        for body in _objects(doc, errors):
            raw_key = _raw_key(body)
            created = stamp(raw_key, position)
            position += 1
            if raw_key in stamps:
                restampable = False
            else:
                stamps[raw_key] = created
            nth = seen.get(raw_key, 0)
            seen[raw_key] = nth + 1
            memo_key = (raw_key, nth, created)
            hit = old_entries.get(memo_key)
            if hit is None or not same_json(hit[0], body):
                own: list[InputError] = []
                hit = (body, _parse_object(doc, body, created, own), tuple(own))
            entries[memo_key] = hit
            errors += hit[2]
            if hit[1] is None:
                continue
            info, model = hit[1]
            meta = model.metadata  # type: ignore[attr-defined]
            key = (info.kind, meta.namespace, meta.name)
            first = origins.get(key)
            if first is not None:
                errors.append(_duplicate((doc.source, doc.index), info.kind, meta, first))
                continue
            origins[key] = (doc.source, doc.index)
            buckets.setdefault(info.field, []).append(model)
    return _FileParse(
        docs=docs,
        stamper=None if isinstance(stamp, KnownStamps) else stamp,
        start=start,
        count=position - start,
        stamps=stamps,
        restampable=restampable,
        newest=max(stamps.values(), default=None),
        parts=tuple((f, tuple(models)) for f, models in buckets.items()),
        origins=origins,
        keys=frozenset(origins),
        errors=tuple(errors),
        entries=entries,
    )


def same_json(a: object, b: object) -> bool:
    """Two decoded values are the same document: equal, and of the same types throughout
    (`1`, `1.0` and `true` are equal in Python but not as input). Decoded values validate the
    same when this holds. `is` first: an unchanged file's objects usually come back as the
    very same ones, and then nothing is walked."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)
        if len(a) != len(b):
            return False
        for k, v in a.items():
            if type(k) is not str or k not in b or not same_json(v, b[k]):
                return False
        return True
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(map(same_json, a, b))
    return a == b


def _raw_key(body: dict[str, Any]) -> ObjectRef:
    meta = body.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    kind, name = body.get("kind"), meta.get("name")
    return (
        kind if isinstance(kind, str) else shown(kind),
        name_of(meta.get("namespace") or "") or "",
        name if isinstance(name, str) else shown(name),
    )


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
    # An invalid name is still how the user finds the object: `123`, not `?`.
    name = name_of(meta.get("name")) if isinstance(meta, dict) else None
    namespace = name_of(meta.get("namespace") or None) if isinstance(meta, dict) else None

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
        # Bounded: it is named in the summary line (`skipped_summary`).
        errors.append(
            InputError(
                doc.source, doc.index, cut(kind, 63), namespace, name, None, "", skipped=True
            )
        )
        return None
    if not isinstance(api_version, str) or api_version not in info.api_versions:
        supported = ", ".join(sorted(info.api_versions))
        error(
            "apiVersion", f"Unsupported value: {shown(api_version)}: supported values: {supported}"
        )
        return None
    if not isinstance(meta, dict):
        error("metadata", "Required value: metadata.name is required")
        return None

    raw_ns = meta.get("namespace")
    if raw_ns is not None and not isinstance(raw_ns, str):  # never "true" for `true`
        error("metadata.namespace", f"Invalid value: {shown(raw_ns)}: must be a string")
        return None
    namespace = (namespace or "default") if info.namespaced else None
    bad_names = list(names.problems(kind, meta.get("name"), namespace))
    for at, message in bad_names:
        error(at, message, namespace)
    if bad_names:
        return None
    body = _prepare(body, info, namespace or "", name, created)
    model = _validate(info, body, lambda field, message: error(field, message, namespace))
    if model is None:
        return None
    violations = rules.check(model)
    for v in violations[:MAX_ERRORS_PER_OBJECT]:
        error(v.field, v.message, namespace)
    if violations:
        return None
    return info, model


def _validate(
    info: KindInfo, body: dict[str, Any], error: Callable[[str | None, str], None]
) -> BaseModel | None:
    try:
        return info.model.model_validate(body, by_alias=True, by_name=False)
    except ValidationError as first:
        # The API server prunes a null in a field that is not nullable and then applies the
        # CRD's defaults; no Gateway API field is nullable, and in core objects null means
        # unset too. So `group: null` or `add: null` is the field left out, as a cluster would
        # store it. Done only when validation fails: a null the models accept is the field's
        # default (None) already, and valid input costs no extra pass.
        pruned = _without_nulls(body)
        try:
            if pruned is body:
                raise first
            return info.model.model_validate(pruned, by_alias=True, by_name=False)
        except ValidationError as exc:
            # A Secret's values are never quoted back, even when they are of the wrong type.
            reveal = info.kind != "Secret"
            for field, message in _pydantic_errors(exc, pruned, reveal)[:MAX_ERRORS_PER_OBJECT]:
                error(field, message)
            return None


def _prepare(
    body: dict[str, Any], info: KindInfo, namespace: str, name: str | None, created: datetime
) -> dict[str, Any]:
    """A copy of `body` with status dropped (a Pod's is what we read of it) and the loader's
    metadata defaults filled in."""
    keep = ("status",) if info.kind == "Pod" else ()
    body = {k: v for k, v in body.items() if k != "status" or k in keep}
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


# Deeper than any Gateway API object; a value nested further (or containing itself, which a
# caller may hand over without the decoder's checks) is left as it is: validation refuses it.
_PRUNE_DEPTH = 64


def _without_nulls(value: Any, depth: int = 0, seen: dict[int, Any] | None = None) -> Any:
    """`value` without the mapping entries whose value is null, at any depth (`value` itself
    when it holds none). Nulls in lists stay: the API server refuses those too. A value shared
    by several parents (a YAML alias) is pruned once: an alias bomb costs its distinct nodes."""
    if depth > _PRUNE_DEPTH or not isinstance(value, dict | list):
        return value
    # By object, on purpose: YAML aliases make one decoded node many parents' child, and
    # this walk (one call, nothing kept) must visit each node once.
    seen = {} if seen is None else seen
    done = seen.get(id(value))
    if done is not None:
        return done
    seen[id(value)] = value  # a value that contains itself stops here
    if isinstance(value, dict):
        out: Any = {
            k: _without_nulls(v, depth + 1, seen) for k, v in value.items() if v is not None
        }
        same = len(out) == len(value) and all(out[k] is value[k] for k in out)
    else:
        out = [_without_nulls(v, depth + 1, seen) for v in value]
        same = all(a is b for a, b in zip(out, value, strict=True))
    result = value if same else out
    seen[id(value)] = result
    return result


def _pydantic_errors(exc: ValidationError, body: object, reveal: bool) -> list[tuple[str, str]]:
    # Pydantic's own rendering of an input (`input`, `ctx`) can expand aliases: never used.
    items = exc.errors(include_url=False, include_context=False, include_input=True)

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
        entry = (_field_path(loc, body), _message(item, reveal))
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


def _message(item: Any, reveal: bool) -> str:
    kind: str = item["type"]
    if kind == "missing":
        return "Required value"
    if kind == "extra_forbidden":
        return "unknown field"
    msg: str = item["msg"]
    if kind == "value_error":  # our own validators: the message says it all
        return msg.removeprefix("Value error, ")
    if not reveal:
        return msg
    return f"Invalid value: {shown(item.get('input'), 80)}: {msg}"


def _doc_error(doc: Document, field: str | None, message: str) -> InputError:
    return InputError(doc.source, doc.index, None, None, None, field, message)


def _type_name(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__
