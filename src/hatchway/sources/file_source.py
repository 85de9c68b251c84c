"""Where the runtime's objects come from: files under `serve`, the cluster cache under
`controller`. The runtime asks a source for a snapshot and tells it when that snapshot was
published, so a source can keep state (generations) only for what really went live."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from hatchway.model.kinds import KINDS
from hatchway.model.parse import (
    InputError,
    KnownStamps,
    ParseMemo,
    Part,
    Stamper,
    input_order,
)
from hatchway.model.refs import ObjectRef
from hatchway.model.snapshot import Snapshot
from hatchway.sources.files import DecodeCache, load_paths
from hatchway.sources.generations import GenerationTracker
from hatchway.translate import Settings as TranslateSettings


@dataclass(frozen=True)
class Loaded:
    snapshot: Snapshot
    errors: tuple[InputError, ...] = ()
    # Source-private state handed back to `commit` when this load is published.
    token: Any = field(default=None, compare=False)
    # Translation settings that go with this snapshot (e.g. the addresses a controller
    # assigned to its Gateways); None: the runtime's own.
    settings: TranslateSettings | None = None


class InputSource(Protocol):
    def load(self) -> Loaded:
        """Read the current objects. Runs in a worker thread: no shared state written."""
        ...

    def commit(self, loaded: Loaded) -> None:
        """`loaded` was published (called on the event loop)."""
        ...


class FileSource:
    """`-f` paths, with the API server's bookkeeping emulated across loads:

    - `metadata.generation` goes up when an object's spec changes, so observedGeneration
      means what it means in a cluster;
    - an object without `creationTimestamp` keeps the one it got when it first appeared, and a
      new object is always younger than every live one (on the first load: input order, as
      offline). Without this, a new file sorting first would make every later object younger
      and could flip precedence ties of routes nobody touched.
    - an object whose new version is invalid keeps its last published version (the API
      server would have rejected the update), and a file that no longer parses keeps its last
      good content; the error is reported, and every other change still goes live.
    Unchanged files are neither decoded nor validated again, and one whose objects keep their
    stamps is spliced in whole, as the very same objects, through parsing and generation
    tracking: a load costs the changed files, plus C-level work over the unchanged ones."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = tuple(paths)
        self._generations = GenerationTracker()
        self._decoded = DecodeCache()
        self._validated = ParseMemo()
        self._created: Mapping[ObjectRef, datetime] = {}
        # The youngest stamp ever published (never goes back, even when that object is gone).
        self._newest: datetime | None = None
        self._live: Snapshot | None = None  # the last published snapshot

    def load(self) -> Loaded:
        newest = self._newest
        fresh: Stamper = input_order if newest is None else _after(newest)
        stamp = KnownStamps(self._created, fresh)
        result = load_paths(self.paths, cache=self._decoded, memo=self._validated, stamp=stamp)
        parts: Sequence[Part] = result.parts
        errors = result.errors
        if self._live is not None:
            kept, errors = keep_last_good(result.snapshot, self._live, errors)
            parts = (*parts, *kept)
        snapshot, seen = self._generations.apply_parts(parts)
        snapshot = dataclasses.replace(snapshot, observed_at=result.snapshot.observed_at)
        return Loaded(snapshot, errors, (seen, result.stamps, result.newest))

    def commit(self, loaded: Loaded) -> None:
        seen, chosen, newest = loaded.token
        self._generations.commit(seen)
        self._created = chosen
        if newest is not None and (self._newest is None or newest > self._newest):
            self._newest = newest
        self._live = loaded.snapshot


def _after(newest: datetime) -> Stamper:
    """Stamps for new objects: younger than every live one, in input order."""

    def stamp(key: ObjectRef, position: int) -> datetime:
        return newest + timedelta(seconds=position + 1)

    return stamp


def _key(obj: Any) -> ObjectRef:
    return (type(obj).__name__, obj.metadata.namespace or "", obj.metadata.name)


def keep_last_good(
    snapshot: Snapshot, live: Snapshot, errors: tuple[InputError, ...]
) -> tuple[list[Part], tuple[InputError, ...]]:
    """The live version of every object whose new version was rejected (as parts to add to
    `snapshot`), and the errors saying so."""
    rejected = {
        (e.kind, e.namespace or "", e.name): i
        for i, e in enumerate(errors)
        if e.kind is not None and e.name is not None
    }
    if not rejected:
        return [], errors
    kinds = {key[0] for key in rejected}
    kept: set[int] = set()
    extras: list[Part] = []
    for info in KINDS.values():
        if info.kind not in kinds:
            continue  # only kinds with a rejected object need a look
        present = {_key(o) for o in getattr(snapshot, info.field)}
        extra = []
        for obj in getattr(live, info.field):
            key = _key(obj)
            # Errors name a namespaced object's namespace as written: "" may mean "default".
            index = rejected.get(key, rejected.get((key[0], "", key[2])))
            if index is not None and key not in present:
                extra.append(obj)
                kept.add(index)
        if extra:
            extras.append((info.field, tuple(extra)))
    note = "; its previous version keeps serving"
    errors = tuple(
        dataclasses.replace(e, message=e.message + note) if i in kept else e
        for i, e in enumerate(errors)
    )
    return extras, errors
