"""IdleCollector collects only when rebuilds pause, and freezes what survives."""

from __future__ import annotations

import asyncio
import gc
import weakref

from hatchway.runtime.idle_gc import IdleCollector


class _Cycle:
    def __init__(self) -> None:
        self.me = self  # garbage only the cyclic collector can free


def _cycles() -> int:
    return sum(isinstance(o, _Cycle) for o in gc.get_objects())


async def _run(busy: bool) -> tuple[int, int]:
    gc.disable()  # as during rebuilds: only IdleCollector may collect here
    try:
        gc.unfreeze()
        for _ in range(100):
            _Cycle()
        collector = IdleCollector(busy=lambda: busy, quiet_s=0.05)
        collector.schedule()
        collector.schedule()  # a second rebuild replaces the pending collection
        await asyncio.sleep(0.3)
        return _cycles(), gc.get_freeze_count()
    finally:
        gc.unfreeze()
        gc.enable()


def test_collects_and_freezes_when_quiet() -> None:
    left, frozen = asyncio.run(_run(busy=False))
    assert left == 0
    assert frozen > 0


def test_waits_while_a_rebuild_runs() -> None:
    left, frozen = asyncio.run(_run(busy=True))
    assert left == 100
    assert frozen == 0
    gc.collect()


def test_later_collections_look_only_at_what_is_new_until_a_full_pass_is_due() -> None:
    """After the first (full) collection, a collection walks only what is not frozen: a
    frozen cycle turned garbage waits for the next full pass, new ones go at once."""

    async def run() -> tuple[int, int, int, dict[str, int]]:
        gc.disable()
        try:
            gc.unfreeze()
            kept = [_Cycle() for _ in range(50)]  # alive through the first collection
            frozen = [weakref.ref(c) for c in kept]
            collector = IdleCollector(busy=lambda: False, quiet_s=0.01, full_every_s=0.6)
            collector.schedule()  # the first: full, at once
            await asyncio.sleep(0.2)
            kept.clear()  # frozen cycles are garbage now
            new = [weakref.ref(_Cycle()) for _ in range(30)]
            collector.schedule()
            await asyncio.sleep(0.2)
            after_young = (_alive(frozen), _alive(new))
            await asyncio.sleep(0.5)
            collector.schedule()  # a full pass is due
            await asyncio.sleep(0.2)
            return *after_young, _alive(frozen), dict(collector.collections)
        finally:
            gc.unfreeze()
            gc.enable()

    frozen_after_young, new_after_young, frozen_after_full, counts = asyncio.run(run())
    assert (frozen_after_young, new_after_young) == (50, 0)
    assert frozen_after_full == 0
    assert counts == {"young": 1, "full": 2}


def _alive(refs: list[weakref.ref[_Cycle]]) -> int:
    return sum(r() is not None for r in refs)
