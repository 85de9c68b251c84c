"""translate grows near-linearly with the number of routes."""

from __future__ import annotations

import time

from hatchway.translate import translate
from unit.translate.scale import scale_snapshot


def _best_of(n: int, routes: int, services: int) -> float:
    snapshot = scale_snapshot(routes, services)
    best = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        out = translate(snapshot)
        best = min(best, time.perf_counter() - start)
        assert len(out.ir.clusters) == min(routes, services)
    return best


def test_translate_time_grows_near_linearly() -> None:
    small = _best_of(3, 500, 100)
    large = _best_of(2, 2000, 400)
    # 4x the input; a quadratic step would show up as ~16x. Loose bounds: the machine is shared.
    assert large < small * 8, (small, large)
    assert large < 5.0, large
