"""gcpause: what is built while paused goes to the oldest generation, still collectable."""

from __future__ import annotations

import gc
import weakref

from hatchway.model import gcpause


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_objects_built_while_paused_skip_the_young_collections() -> None:
    gc.collect()
    with gcpause.paused():
        built = [[i] for i in range(50_000)]
    # In the oldest generation already: no young collection walks them to find them alive.
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert id(built) in oldest and id(built[-1]) in oldest
    assert gc.isenabled()


def test_cycles_built_while_paused_are_still_collected() -> None:
    """Promoted, not frozen: a full collection frees garbage cycles built in the pause."""
    with gcpause.paused():
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None
    assert gc.get_freeze_count() == 0


def test_a_pause_inside_a_pause_leaves_the_collector_off() -> None:
    with gcpause.paused():
        with gcpause.paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
