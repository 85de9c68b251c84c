"""An IR per data plane: with a data plane per Gateway, each gets its own listeners and only
the clusters they use.

A listener's `owner` names the Gateway whose proxies bind it (None: one shared data plane).
Clusters are found by walking the listener's IR for fields that name a cluster: by convention
a `str` field called `cluster` or ending in `_cluster`, so a feature that adds a cluster
reference is partitioned without touching this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator

from hatchway.ir.listener import IR, Listener

Owner = tuple[str, str] | None


def clusters_used(listener: Listener) -> frozenset[str]:
    """The names of the clusters anything in `listener` refers to."""
    return frozenset(_cluster_names(listener))


def _cluster_names(value: object) -> Iterator[str]:
    if isinstance(value, tuple | list):
        for item in value:
            yield from _cluster_names(item)
        return
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return
    for f in dataclasses.fields(value):
        item = getattr(value, f.name)
        if isinstance(item, str):
            if f.name == "cluster" or f.name.endswith("_cluster"):
                yield item
        elif item is not None and not isinstance(item, int | float | bool):
            yield from _cluster_names(item)


def by_owner(ir: IR, used: Callable[[Listener], frozenset[str]] = clusters_used) -> dict[Owner, IR]:
    """Each data plane's IR, by owner (`used` may be a caching wrapper of `clusters_used`)."""
    groups: dict[Owner, list[Listener]] = {}
    for listener in ir.listeners:
        groups.setdefault(listener.owner, []).append(listener)
    if len(groups) <= 1:  # one data plane (or none): all of it, no walk
        return dict.fromkeys(groups, ir) or {None: ir}
    out: dict[Owner, IR] = {}
    for owner, listeners in groups.items():
        names = _union(used(lis) for lis in listeners)
        clusters = tuple(c for c in ir.clusters if c.name in names)
        out[owner] = IR(listeners=tuple(listeners), clusters=clusters)
    return out


def _union(sets: Iterable[frozenset[str]]) -> set[str]:
    out: set[str] = set()
    for s in sets:
        out |= s
    return out
