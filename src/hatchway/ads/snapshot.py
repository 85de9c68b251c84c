"""One published configuration generation, packed for the wire.

Each resource is packed into an `Any` once per generation and shared by every stream; its
version is the content hash of its deterministic serialization, so an unchanged resource keeps
its version across generations (and across control-plane restarts) and is never resent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from google.protobuf import any_pb2

from hatchway.ir import Origin
from hatchway.xds import TYPE_URLS, XdsResources, version_of

Key = tuple[str, str]  # (type_url, resource name)


@dataclass(frozen=True)
class Entry:
    version: str
    resource: any_pb2.Any


@dataclass(frozen=True)
class XdsSnapshot:
    generation: int
    # type_url -> name -> Entry; every type of TYPE_URLS present (possibly empty).
    entries: Mapping[str, Mapping[str, Entry]]
    origins: Mapping[Key, tuple[Origin, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def versions(self, type_url: str) -> dict[str, str]:
        return {name: e.version for name, e in self.entries.get(type_url, {}).items()}

    def size(self) -> int:
        return sum(len(v) for v in self.entries.values())


EMPTY = XdsSnapshot(0, MappingProxyType({t: MappingProxyType({}) for t in TYPE_URLS}))


def from_resources(
    generation: int, res: XdsResources, previous: XdsSnapshot | None = None
) -> XdsSnapshot:
    """Pack `xds.build` output: the bytes are already serialized and hashed there. A resource
    whose version (its content hash) is the one it had in `previous` keeps that entry: a
    one-route change then packs one or two resources, not every cluster again."""
    entries: dict[str, Mapping[str, Entry]] = {}
    for type_url in TYPE_URLS:
        before = previous.entries.get(type_url, {}) if previous is not None else {}
        items: dict[str, Entry] = {}
        for name in res.by_type.get(type_url, {}):
            key = (type_url, name)
            version = res.versions[key]
            old = before.get(name)
            if old is not None and old.version == version:
                items[name] = old
                continue
            packed = any_pb2.Any(type_url=type_url, value=res.serialized[key])
            items[name] = Entry(version, packed)
        entries[type_url] = MappingProxyType(items)
    return XdsSnapshot(generation, MappingProxyType(entries), res.origins)


def from_messages(
    generation: int,
    by_type: Mapping[str, Mapping[str, Any]],
    origins: Mapping[Key, tuple[Origin, ...]] | None = None,
) -> XdsSnapshot:
    """Pack hand-built proto messages (tests, tools); types not given are empty."""
    entries: dict[str, Mapping[str, Entry]] = {}
    for type_url in TYPE_URLS:
        items: dict[str, Entry] = {}
        for name, message in by_type.get(type_url, {}).items():
            data = message.SerializeToString(deterministic=True)
            items[name] = Entry(version_of(data), any_pb2.Any(type_url=type_url, value=data))
        entries[type_url] = MappingProxyType(items)
    return XdsSnapshot(generation, MappingProxyType(entries), MappingProxyType(dict(origins or {})))
