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


class GenerationTracker:
    def __init__(self) -> None:
        self._seen: dict[ObjectKey, tuple[str, int]] = {}

    def apply(self, snapshot: Snapshot) -> tuple[Snapshot, dict[ObjectKey, tuple[str, int]]]:
        """The snapshot with generations set, and the tracking state to `commit` if it is used.

        A new object keeps its given generation (default 1); a changed spec gets the previous
        generation + 1 (or the given one, if the file states a higher one).
        """
        seen: dict[ObjectKey, tuple[str, int]] = {}
        changes: dict[str, tuple[Any, ...]] = {}
        for f in dataclasses.fields(Snapshot):
            objects = getattr(snapshot, f.name)
            out = []
            for obj in objects:
                meta = obj.metadata
                key = (type(obj).__name__, meta.namespace, meta.name)
                digest = spec_hash(obj)
                given = int(meta.generation)
                previous = self._seen.get(key)
                if previous is None:
                    generation = given
                elif previous[0] == digest:
                    generation = max(previous[1], given)
                else:
                    generation = max(previous[1] + 1, given)
                seen[key] = (digest, generation)
                if generation != given:
                    meta = meta.model_copy(update={"generation": generation})
                    out.append(obj.model_copy(update={"metadata": meta}))
                else:
                    out.append(obj)
            changes[f.name] = tuple(out)
        return dataclasses.replace(snapshot, **changes), seen

    def commit(self, seen: dict[ObjectKey, tuple[str, int]]) -> None:
        """Remember a load that was published (deleted objects are forgotten)."""
        self._seen = dict(seen)
