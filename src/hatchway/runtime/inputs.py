"""Where the runtime's objects come from: files under `serve`, the cluster cache under
`controller`. The runtime asks a source for a snapshot and tells it when that snapshot was
published, so a source can keep state (generations) only for what really went live."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hatchway.model.parse import InputError, ParseMemo
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
    """`-f` paths; bumps `metadata.generation` when an object's spec changes between loads,
    as the API server would, so observedGeneration means the same as in a cluster."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = tuple(paths)
        self._generations = GenerationTracker()
        self._decoded = DecodeCache()
        self._validated = ParseMemo()

    def load(self) -> Loaded:
        result = load_paths(self.paths, cache=self._decoded, memo=self._validated)
        snapshot, seen = self._generations.apply(result.snapshot)
        return Loaded(snapshot, result.errors, seen)

    def commit(self, loaded: Loaded) -> None:
        self._generations.commit(loaded.token)
