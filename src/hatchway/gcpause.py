"""Pause the cyclic garbage collector while bulk-building objects (the one switch: parsing,
translation and the xDS build all use it; `runtime.idle_gc` collects between reloads).

Building tens of thousands of small models triggers many full collections that find nothing
(our objects hold no cycles); pausing halves the time to load 10,000 routes.
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
            gc.enable()
