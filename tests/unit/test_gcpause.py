"""What a GC pause built goes to the oldest generation, unless the runtime collects itself."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from hatchway import gcpause


class _Node:
    """A GC-tracked object (instances of plain classes are)."""


@pytest.fixture
def policy() -> Iterator[dict[str, bool]]:
    saved = dict(gcpause._policy)
    was_enabled = gc.isenabled()
    gc.enable()
    try:
        yield gcpause._policy
    finally:
        gcpause._policy.update(saved)
        if not was_enabled:
            gc.disable()


def _generation(obj: object) -> int | None:
    for generation in range(3):
        if any(o is obj for o in gc.get_objects(generation)):
            return generation
    return None


def test_a_pause_hands_what_it_built_to_the_oldest_generation(
    policy: dict[str, bool],
) -> None:
    policy["runtime_collects"] = False
    with gcpause.paused():
        assert not gc.isenabled()
        built = _Node()
    assert gc.isenabled()
    assert _generation(built) == 2


def test_a_runtime_that_freezes_keeps_its_frozen_objects(policy: dict[str, bool]) -> None:
    gc.unfreeze()
    frozen = _Node()
    gc.freeze()  # as runtime.idle_gc leaves the live configuration
    try:
        policy["runtime_collects"] = True
        with gcpause.paused():
            built = _Node()
        # Nothing was unfrozen: the configuration stays out of the automatic collections,
        # and what the pause built is left to the young collections.
        assert _generation(frozen) is None
        assert _generation(built) in (0, 1)
    finally:
        gc.unfreeze()


def test_a_nested_pause_leaves_the_collector_to_the_outer_one(policy: dict[str, bool]) -> None:
    with gcpause.paused():
        with gcpause.paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
