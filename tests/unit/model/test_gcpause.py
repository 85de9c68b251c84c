"""gcpause: what a pause built skips the young collections and joins the permanent
generation, where the runtime's idle collector (runtime/idle_gc.py) still collects cycles."""

from __future__ import annotations

import gc
import weakref

from hatchway.model import gcpause


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_objects_built_while_paused_are_not_walked_by_young_collections() -> None:
    gc.collect()
    before = gc.get_freeze_count()
    try:
        with gcpause.paused():
            built = [[i] for i in range(50_000)]
        # Frozen already: no young collection walks them to find them alive.
        assert gc.get_freeze_count() >= before + len(built)
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_cycles_built_while_paused_are_collected_by_the_idle_collection() -> None:
    """What `runtime/idle_gc.IdleCollector` does once changes pause: unfreeze, collect."""
    try:
        with gcpause.paused():
            a, b = _Node(), _Node()
            a.other, b.other = b, a
            gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is not None  # frozen: automatic and explicit collections skip it
        gc.unfreeze()
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()


def test_a_frozen_generation_stays_frozen() -> None:
    """A running gateway keeps its configuration frozen between idle collections: a pause
    must not hand it back to the automatic collections (a full pass mid-change)."""
    gc.collect()
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with gcpause.paused():
            pass
        assert gc.get_freeze_count() >= before
    finally:
        gc.unfreeze()


def test_a_pause_inside_a_pause_leaves_the_collector_off() -> None:
    with gcpause.paused():
        with gcpause.paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
