"""Where the runtime's objects come from: files under `serve`, the cluster cache under
`controller`. The runtime asks a source for a snapshot and tells it when that snapshot was
published, so a source can keep state (generations) only for what really went live."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from hatchway.model.parse import InputError, ObjectKey, ParseMemo, input_order
from hatchway.model.snapshot import Snapshot
from hatchway.runtime.generations import GenerationTracker
from hatchway.sources.files import DecodeCache, load_paths


@dataclass(frozen=True)
class Loaded:
    snapshot: Snapshot
    errors: tuple[InputError, ...] = ()
    # Source-private state handed back to `commit` when this load is published.
    token: Any = field(default=None, compare=False)


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
    Unchanged files are neither decoded nor validated again."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = tuple(paths)
        self._generations = GenerationTracker()
        self._decoded = DecodeCache()
        self._validated = ParseMemo()
        self._created: dict[ObjectKey, datetime] = {}

    def load(self) -> Loaded:
        known = self._created
        newest = max(known.values(), default=None)
        chosen: dict[ObjectKey, datetime] = {}

        def stamp(key: ObjectKey, position: int) -> datetime:
            ts = known.get(key)
            if ts is None:
                ts = (
                    input_order(key, position)
                    if newest is None
                    else newest + timedelta(seconds=position + 1)
                )
            chosen[key] = ts
            return ts

        result = load_paths(self.paths, cache=self._decoded, memo=self._validated, stamp=stamp)
        snapshot, seen = self._generations.apply(result.snapshot)
        return Loaded(snapshot, result.errors, (seen, chosen))

    def commit(self, loaded: Loaded) -> None:
        seen, chosen = loaded.token
        self._generations.commit(seen)
        self._created = chosen
