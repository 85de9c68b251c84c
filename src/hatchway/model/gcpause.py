"""Pause the cyclic garbage collector while bulk-building objects.

Building tens of thousands of small models triggers many full collections that find nothing
(our objects hold no cycles); pausing halves the time to load 10,000 routes.

On the way out, what was built is moved straight into the oldest generation (`freeze` then
`unfreeze`: two list splices). Otherwise the first allocation after the pause starts a
young-generation collection that walks every object just built, to find them all alive:
0.3 s of a 10,000-route translation, more than a tenth of it. The objects stay collectable:
full collections look at them as at any other (a `freeze` alone would have hidden them from
every collection; under `serve` that starved the collector, RSS 120 -> 700 MiB over 335
reloads).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()
