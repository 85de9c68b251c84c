"""The webhook's judge: `admission.review` against the controller's latest view.

- **Cheap first**: whether an object is denied needs no translation (validation, refusals
  and whose it is): answered on the event loop in well under a millisecond.
- **Findings off the loop**: translating the view with the object in runs in one worker
  thread, with a `TranslateMemo` of its own (the controller's stays the controller's), so a
  changed HTTPRoute costs about one route (`translate.delta`). Between requests the worker
  translates each new view once (`keep_warm`), so a request pays only for its own object.
- **Bounded**: a review that does not finish within `budget_s` is answered without its
  findings (and one warning saying so): the API server's timeout must never be what ends it.
- **Settled**: findings that may come from the view lagging the API server (a Gateway
  applied a moment before its routes) are computed again once the view moves, for up to
  `settle_s`.

The view leaves EndpointSlices out: they decide no status, and pods come and go all the
time, which would make every view new.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from hatchway.admission import Verdict, review
from hatchway.model.snapshot import Snapshot
from hatchway.translate import Settings, TranslateMemo, translate

log = logging.getLogger("hatchway.webhook")

View = tuple[Snapshot, Settings]
Current = Callable[[], View]  # the controller's newest snapshot and its translation settings

# Kinds a translation takes as a delta from the last one (`translate.delta`).
INCREMENTAL = frozenset({"HTTPRoute"})

LATE = (
    "Hatchway did not finish checking this object against the cluster in time; "
    "its status will tell (or run `hatchway status` on it)"
)


class Reviewer:
    def __init__(self, current: Current, budget_s: float = 2.0, settle_s: float = 0.5) -> None:
        self.current = current
        self.budget_s = budget_s
        self.settle_s = settle_s
        self._memo = TranslateMemo()  # kept on the view: a route's review is a delta from it
        self._whole = TranslateMemo(incremental=False)  # for the other kinds
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="admission")
        self._base: Snapshot | None = None
        self._view: View | None = None

    def view(self) -> View:
        """The controller's view without EndpointSlices (the same object until it moves)."""
        snapshot, settings = self.current()
        if snapshot is not self._base or self._view is None or self._view[1] is not settings:
            self._base = snapshot
            self._view = (replace(snapshot, endpoint_slices=()), settings)
        return self._view

    async def answer(self, request: dict[str, Any]) -> Verdict:
        """The verdict on one AdmissionReview `request`."""
        started = time.monotonic()
        body, old = request.get("object"), request.get("oldObject")
        operation = request.get("operation")
        operation = operation if isinstance(operation, str) else ""
        verdict = self._quick(body, operation, old)
        if verdict.findings_due:
            deadline = started + self.budget_s
            settle_until = min(started + self.settle_s, deadline)
            full, base = await self._full(body, operation, old, deadline)
            while full is not None and not full.settled and await self._moved(base, settle_until):
                again, base = await self._full(body, operation, old, deadline)
                if again is None:
                    break  # out of time: the last answer stands
                full = again
            verdict = full if full is not None else Verdict(warnings=(LATE,))
        return verdict

    def _quick(self, body: object, operation: str, old: object) -> Verdict:
        """Whether it is denied: no translation, answered on the event loop."""
        snapshot, settings = self.view()
        try:
            return review(body, operation, snapshot, settings, old=old, with_findings=False)
        except Exception:
            log.exception("admission review failed; allowed without findings")
            return Verdict()

    async def _full(
        self, body: object, operation: str, old: object, deadline: float
    ) -> tuple[Verdict | None, Snapshot | None]:
        """The review with findings (None: not within `deadline`), and the controller
        snapshot it was judged against."""
        view = self.view()
        base = self._base
        job = asyncio.get_running_loop().run_in_executor(
            self._pool, self._review, body, operation, old, view, deadline
        )
        try:
            return await asyncio.wait_for(job, max(0.0, deadline - time.monotonic())), base
        except TimeoutError:
            return None, base

    def _review(
        self, body: object, operation: str, old: object, view: View, deadline: float
    ) -> Verdict | None:
        if time.monotonic() >= deadline:
            return None  # queued past its budget: nobody waits for it any more
        # Another kind than HTTPRoute is translated whole, with a memo of its own (each
        # route's compiled rules reused): through the first one, the view plus that object
        # would be all the next route's review could start from.
        memo = self._memo if _kind(body) in INCREMENTAL else self._whole
        try:
            return review(body, operation, view[0], view[1], memo=memo, old=old)
        except Exception:  # a bug must never refuse a write: allowed, and logged
            log.exception("admission review failed; allowed without findings")
            return Verdict()

    async def _moved(self, base: Snapshot | None, until: float) -> bool:
        """Whether the controller's snapshot moves on from `base` before `until`."""
        while time.monotonic() < until:
            if self.current()[0] is not base:
                return True
            await asyncio.sleep(0.02)
        return False

    async def keep_warm(self, interval_s: float = 0.25) -> None:
        """Translate each new view once, between requests (runs until cancelled)."""
        warmed: View | None = None
        loop = asyncio.get_running_loop()
        while True:
            view = self.view()
            if view is not warmed:
                warmed = view
                await loop.run_in_executor(self._pool, self._warm, view)
            await asyncio.sleep(interval_s)

    def _warm(self, view: View) -> None:
        try:
            translate(view[0], view[1], self._memo)
        except Exception:
            log.exception("admission: translating the view failed")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _kind(body: object) -> object:
    return body.get("kind") if isinstance(body, dict) else None


def in_namespace(body: object, request: dict[str, Any]) -> object:
    """The object with the request's namespace when it names none (the request's is the
    namespace it is written to)."""
    namespace = request.get("namespace")
    if not isinstance(body, dict) or not isinstance(namespace, str) or not namespace:
        return body
    meta = body.get("metadata")
    if not isinstance(meta, dict) or meta.get("namespace"):
        return body
    return {**body, "metadata": {**meta, "namespace": namespace}}
