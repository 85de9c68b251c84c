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
        # Spec hashes of the previous load by object identity: unchanged files hand back the
        # very same (immutable) objects, so only changed ones are hashed again.
        self._digests: dict[int, tuple[BaseModel, str]] = {}

    def apply(self, snapshot: Snapshot) -> tuple[Snapshot, dict[ObjectKey, tuple[str, int]]]:
        """The snapshot with generations set, and the tracking state to `commit` if it is used.

        A new object keeps its given generation (default 1); a changed spec gets the previous
        generation + 1 (or the given one, if the file states a higher one).
        """
        seen: dict[ObjectKey, tuple[str, int]] = {}
        digests: dict[int, tuple[BaseModel, str]] = {}
        changes: dict[str, tuple[Any, ...]] = {}
        for f in dataclasses.fields(Snapshot):
            objects = getattr(snapshot, f.name)
            out = []
            for obj in objects:
                meta = obj.metadata
                key = (type(obj).__name__, meta.namespace, meta.name)
                hit = self._digests.get(id(obj))
                digest = hit[1] if hit is not None and hit[0] is obj else spec_hash(obj)
                digests[id(obj)] = (obj, digest)
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
        self._digests = digests
        return dataclasses.replace(snapshot, **changes), seen

    def commit(self, seen: dict[ObjectKey, tuple[str, int]]) -> None:
        """Remember a load that was published (deleted objects are forgotten)."""
        self._seen = dict(seen)
