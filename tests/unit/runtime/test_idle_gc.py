"""IdleCollector collects only when rebuilds pause, and freezes what survives."""

from __future__ import annotations

import asyncio
import gc

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
