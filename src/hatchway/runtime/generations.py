"""`metadata.generation` under `serve`: bumped whenever an object's spec changes between loads.

In a cluster the API server does this; standalone we do it, so `observedGeneration` in
status means what it means in a cluster (which version of the spec the status describes).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from pydantic import BaseModel

from hatchway.model.snapshot import Snapshot

ObjectKey = tuple[str, str, str]  # (kind, namespace, name)


def spec_hash(obj: BaseModel) -> str:
    """Hash of everything but metadata (spec, and data/ports/endpoints of core kinds)."""
    body = obj.model_dump(mode="json", exclude={"metadata"}, by_alias=True)
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


_Tracked = tuple[BaseModel, str, tuple[str, int] | None, int, BaseModel]


class GenerationTracker:
    def __init__(self) -> None:
        self._seen: dict[ObjectKey, tuple[str, int]] = {}
        # By object identity: (object, spec hash, what `_seen` held for it, generation, the
        # object handed out). Unchanged files hand back the very same (immutable) objects, so
        # only changed ones are hashed again, and an object whose generation we bumped is
        # copied once, not on every load (translation reuses work per object identity).
        self._tracked: dict[int, _Tracked] = {}

    def apply(self, snapshot: Snapshot) -> tuple[Snapshot, dict[ObjectKey, tuple[str, int]]]:
        """The snapshot with generations set, and the tracking state to `commit` if it is used.

        A new object keeps its given generation (default 1); a changed spec gets the previous
        generation + 1 (or the given one, if the file states a higher one).
        """
        seen: dict[ObjectKey, tuple[str, int]] = {}
        tracked: dict[int, _Tracked] = {}
        changes: dict[str, tuple[Any, ...]] = {}
        for f in dataclasses.fields(Snapshot):
            out = []
            for obj in getattr(snapshot, f.name):
                meta = obj.metadata
                key = (type(obj).__name__, meta.namespace, meta.name)
                previous = self._seen.get(key)
                hit = self._tracked.get(id(obj))
                if hit is not None and hit[0] is obj and hit[2] == previous:
                    tracked[id(obj)] = hit
                    seen[key] = (hit[1], hit[3])
                    out.append(hit[4])
                    continue
                digest = hit[1] if hit is not None and hit[0] is obj else spec_hash(obj)
                given = int(meta.generation)
                if previous is None:
                    generation = given
                elif previous[0] == digest:
                    generation = max(previous[1], given)
                else:
                    generation = max(previous[1] + 1, given)
                seen[key] = (digest, generation)
                handed = obj
                if generation != given:
                    meta = meta.model_copy(update={"generation": generation})
                    handed = obj.model_copy(update={"metadata": meta})
                tracked[id(obj)] = (obj, digest, previous, generation, handed)
                out.append(handed)
            changes[f.name] = tuple(out)
        self._tracked = tracked
        return dataclasses.replace(snapshot, **changes), seen

    def commit(self, seen: dict[ObjectKey, tuple[str, int]]) -> None:
        """Remember a load that was published (deleted objects are forgotten)."""
        self._seen = dict(seen)
