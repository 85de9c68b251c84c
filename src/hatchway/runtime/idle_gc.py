"""Garbage collection off the change-to-traffic path.

Rebuilds pause the cyclic collector (a full collection over the live configuration takes
~150 ms at 3,000 routes, more than an incremental rebuild). `IdleCollector` collects once
changes pause — 1 s without a rebuild, or at the latest every 30 s under constant churn —
then `gc.freeze`s what survives, so the automatic collections in between only look at what
is new, and hands the heap's free pages back to the kernel (`runtime.memory`).

Most of those collections look only at what is not frozen: what the changes since the last
one built, a few milliseconds. Frozen objects that became garbage are freed by their
reference counts (the configuration holds no cycles); a full pass over everything (unfreeze,
collect, freeze: it holds the event loop, and a change saved meanwhile waits for it) runs
right after the first configuration went live and then at most every `full_every_s`, for
what a cycle might still keep.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

from hatchway import gcpause
from hatchway.runtime.memory import release_free_memory

log = logging.getLogger("hatchway.gc")


class IdleCollector:
    def __init__(
        self,
        busy: Callable[[], bool],
        quiet_s: float = 1.0,
        at_most_s: float = 30.0,
        full_every_s: float = 300.0,
    ) -> None:
        self._busy = busy  # whether a rebuild is under way
        self._quiet_s = quiet_s
        self._at_most_s = at_most_s
        self._full_every_s = full_every_s
        self._task: asyncio.Task[None] | None = None
        self._last = time.monotonic()
        self._last_full: float | None = None  # None: the first collection is a full one
        self.collections = {"young": 0, "full": 0}
        gcpause.runtime_collects()  # pauses leave the frozen configuration alone

    def schedule(self) -> None:
        """A rebuild went live: collect once things are quiet (this replaces a pending one).
        The first one runs at once: at start-up the whole configuration is new."""
        self.cancel()
        overdue = time.monotonic() - self._last > self._at_most_s
        soon = overdue or self._last_full is None
        self._task = asyncio.create_task(self._collect(0.05 if soon else self._quiet_s))

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _collect(self, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._busy():
            return  # the rebuild under way schedules the next collection
        started = time.perf_counter()
        now = time.monotonic()
        full = self._last_full is None or now - self._last_full >= self._full_every_s
        if full:
            gc.unfreeze()
            self._last_full = now
        found = gc.collect()
        gc.freeze()
        release_free_memory()
        self._last = time.monotonic()
        self.collections["full" if full else "young"] += 1
        log.debug(
            "%s collection: %d unreachable in %.1f ms",
            "full" if full else "young",
            found,
            (time.perf_counter() - started) * 1000,
        )
