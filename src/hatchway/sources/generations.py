"""`metadata.generation` under `serve`: bumped whenever an object's spec changes between loads.

In a cluster the API server does this; standalone we do it, so `observedGeneration` in
status means what it means in a cluster (which version of the spec the status describes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel

from hatchway.model.refs import ObjectRef
from hatchway.model.snapshot import KIND_FIELDS, Snapshot

Seen = dict[ObjectRef, tuple[str, int]]  # spec hash and generation per object
Part = tuple[str, tuple[BaseModel, ...]]  # a Snapshot field and objects of it, in order

_FIELDS = KIND_FIELDS


def spec_hash(obj: BaseModel) -> str:
    """Hash of everything but metadata (spec, and data/ports/endpoints of core kinds)."""
    body = obj.model_dump(mode="json", exclude={"metadata"}, by_alias=True)
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


# (object, spec hash, generation, the object handed out for it)
_Tracked = tuple[BaseModel, str, int, BaseModel]


@dataclass(eq=False)
class _Piece:
    """What one part of the input was turned into: a pure function of its objects and of
    what `_seen` held for their keys."""

    models: tuple[BaseModel, ...]
    handed: tuple[BaseModel, ...]
    seen: Seen
    tracked: dict[int, _Tracked]
    # The latest `seen` of an `apply` that holds this piece's `seen` unchanged: once it is
    # committed, the piece is known right without a per-object check.
    merged_into: Seen | None = None


class GenerationTracker:
    def __init__(self) -> None:
        self._seen: Seen = {}
        # By object identity. Unchanged files hand back the very same (immutable) objects, so
        # only changed ones are hashed again, and an object whose generation we bumped is
        # copied once, not on every load (translation reuses work per object identity).
        self._tracked: dict[int, _Tracked] = {}
        # By the identity of a part's tuple: an unchanged file's parts are the same tuples,
        # and are then handed out again without looking at each object.
        self._pieces: dict[int, _Piece] = {}

    def apply(self, snapshot: Snapshot) -> tuple[Snapshot, Seen]:
        """The snapshot with generations set, and the tracking state to `commit` if it is used.

        A new object keeps its given generation (default 1); a changed spec gets the previous
        generation + 1 (or the given one, if the file states a higher one).
        """
        return self.apply_parts((name, getattr(snapshot, name)) for name in _FIELDS)

    def apply_parts(self, parts: Iterable[Part]) -> tuple[Snapshot, Seen]:
        """`apply` to the snapshot that concatenates `parts` (per field, in order)."""
        seen: Seen = {}
        tracked: dict[int, _Tracked] = {}
        pieces: dict[int, _Piece] = {}
        out: dict[str, list[BaseModel]] = {name: [] for name in _FIELDS}
        committed = self._seen.items()
        for name, models in parts:
            piece = self._pieces.get(id(models))
            # A piece stays right while every object's state is the one it produced, i.e. the
            # load that made it was committed and nothing changed since. The piece holds
            # `models` alive, so an equal id is the same tuple.
            if (
                piece is None
                or piece.models is not models
                or (piece.merged_into is not self._seen and not piece.seen.items() <= committed)
            ):
                piece = self._piece(models)
            pieces[id(models)] = piece
            seen.update(piece.seen)
            tracked.update(piece.tracked)
            out[name] += piece.handed
        if len(seen) == sum(len(p.seen) for p in pieces.values()):  # no key in two pieces
            for piece in pieces.values():
                piece.merged_into = seen
        self._tracked = tracked
        self._pieces = pieces
        snapshot = Snapshot(**{name: tuple(objs) for name, objs in out.items()})  # type: ignore[arg-type]
        return snapshot, seen

    def _piece(self, models: tuple[BaseModel, ...]) -> _Piece:
        seen: Seen = {}
        tracked: dict[int, _Tracked] = {}
        handed_out: list[BaseModel] = []
        for obj in models:
            meta = obj.metadata  # type: ignore[attr-defined]
            key = (type(obj).__name__, meta.namespace, meta.name)
            previous = self._seen.get(key)
            hit = self._tracked.get(id(obj))
            if hit is not None and hit[0] is not obj:
                hit = None
            digest = hit[1] if hit is not None else spec_hash(obj)
            given = int(meta.generation)
            if previous is None:
                generation = given
            elif previous[0] == digest:
                generation = max(previous[1], given)
            else:
                generation = max(previous[1] + 1, given)
            seen[key] = (digest, generation)
            if hit is not None and hit[2] == generation:
                handed = hit[3]  # the same object as before, even if it is a bumped copy
            elif generation != given:
                meta = meta.model_copy(update={"generation": generation})
                handed = obj.model_copy(update={"metadata": meta})
            else:
                handed = obj
            tracked[id(obj)] = (obj, digest, generation, handed)
            handed_out.append(handed)
        return _Piece(models, tuple(handed_out), seen, tracked)

    def commit(self, seen: Seen) -> None:
        """Remember a load that was published (deleted objects are forgotten). `seen` is kept
        as it is (`apply` never changes a dict it returned), so that pieces merged into it
        are recognized by identity."""
        self._seen = seen
