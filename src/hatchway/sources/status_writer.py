"""Status subresource writes: only changed objects, with optimistic concurrency, bounded.

Every write is a JSON merge patch of `/status` carrying the `resourceVersion` we computed it
from: if someone else wrote meanwhile the API server answers 409, the object comes back through
the watch, and the next sync recomputes it from the new version. Merge patches replace lists
whole, which is why the precondition matters for the shared `parents[]`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx2
from lightkube import ApiError, AsyncClient
from lightkube.types import PatchType

from hatchway.sources.kube import KindSpec, ObjectCache, resource_class
from hatchway.sources.status_merge import merged_status

log = logging.getLogger("hatchway.status")

GATEWAY_CLASS_FINALIZER = "gateway-exists-finalizer.gateway.networking.k8s.io"


@dataclass
class WriteStats:
    writes: int = 0
    conflicts: int = 0
    failures: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedWrite:
    spec: KindSpec
    version: str
    namespace: str | None
    name: str
    resource_version: str
    status: dict[str, Any]


def plan(
    cache: ObjectCache,
    specs: dict[str, tuple[KindSpec, str]],
    desired: Iterable[dict[str, Any]],
    controller: str,
    now: str,
) -> list[PlannedWrite]:
    """The writes that bring the cache's statuses to `desired` (rendered status resources).

    Objects of a shared kind that carry an entry of ours but are no longer in `desired` get
    that entry removed.
    """
    wanted: dict[tuple[str, str, str], dict[str, Any]] = {}
    for res in desired:
        meta = res.get("metadata") or {}
        wanted[(str(res.get("kind")), meta.get("namespace") or "", str(meta.get("name")))] = res[
            "status"
        ]
    out: list[PlannedWrite] = []
    for kind, (spec, version) in specs.items():
        for (ns, name), body in cache.objects.get(kind, {}).items():
            want = wanted.get((kind, ns, name))
            if want is None and not _has_entry_of(body, controller):
                continue
            status = merged_status(body, want, controller, now)
            if status is None:
                continue
            rv = str((body.get("metadata") or {}).get("resourceVersion") or "")
            out.append(PlannedWrite(spec, version, ns or None, name, rv, status))
    return out


def _has_entry_of(body: dict[str, Any], controller: str) -> bool:
    status = body.get("status") or {}
    entries = [*(status.get("parents") or []), *(status.get("ancestors") or [])]
    return any(e.get("controllerName") == controller for e in entries)


class StatusWriter:
    def __init__(self, client: AsyncClient, concurrency: int = 32) -> None:
        self.client = client
        self.stats = WriteStats()
        self._limit = asyncio.Semaphore(concurrency)

    async def write_all(self, writes: list[PlannedWrite]) -> int:
        """Apply `writes`; returns how many failed (to be retried on the next sync)."""
        results = await asyncio.gather(*(self._write(w) for w in writes))
        return sum(1 for ok in results if not ok)

    async def _write(self, w: PlannedWrite) -> bool:
        res: Any = resource_class(w.spec, w.version)
        body = {"metadata": {"resourceVersion": w.resource_version}, "status": w.status}
        async with self._limit:
            try:
                await self.client.patch(
                    res.Status,
                    w.name,
                    body,
                    namespace=w.namespace,
                    patch_type=PatchType.MERGE,
                )
            except ApiError as exc:
                if exc.status.code in (404, 409):
                    # Deleted or changed meanwhile: the watch brings the new state.
                    self.stats.conflicts += 1
                else:
                    self.stats.failures += 1
                    log.warning("status of %s %s/%s: %s", w.spec.kind, w.namespace, w.name, exc)
                return False
            except httpx2.HTTPError as exc:
                self.stats.failures += 1
                log.warning("status of %s %s/%s: %s", w.spec.kind, w.namespace, w.name, exc)
                return False
        self.stats.writes += 1
        self.stats.by_kind[w.spec.kind] = self.stats.by_kind.get(w.spec.kind, 0) + 1
        return True

    async def sync_finalizers(
        self, cache: ObjectCache, spec: KindSpec, version: str, owned_classes: set[str]
    ) -> None:
        """Keep the finalizer on our GatewayClasses exactly while a Gateway uses them."""
        in_use = {
            str((gw.get("spec") or {}).get("gatewayClassName"))
            for gw in cache.objects.get("Gateway", {}).values()
        }
        for (_, name), body in list(cache.objects.get("GatewayClass", {}).items()):
            meta = body.get("metadata") or {}
            finalizers = list(meta.get("finalizers") or [])
            has = GATEWAY_CLASS_FINALIZER in finalizers
            want = name in owned_classes and name in in_use
            if has == want:
                continue
            if want:
                finalizers.append(GATEWAY_CLASS_FINALIZER)
            else:
                finalizers.remove(GATEWAY_CLASS_FINALIZER)
            patch = {
                "metadata": {
                    "resourceVersion": meta.get("resourceVersion"),
                    "finalizers": finalizers,
                }
            }
            try:
                await self.client.patch(
                    resource_class(spec, version), name, patch, patch_type=PatchType.MERGE
                )
            except ApiError as exc:
                log.info("finalizer of GatewayClass %s: %s (retried on next sync)", name, exc)
