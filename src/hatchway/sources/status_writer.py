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
    that entry removed. A status rendered from another generation of the object than the
    cache holds is left for the rebuild under way (an object deleted and created again would
    otherwise get its predecessor's status first, then its own: two writes, one wrong). An
    object found up to date keeps that verdict (in the cache's `status_checked`) until its body
    or its desired status changes: each sync then compares only what moved.
    """
    wanted: dict[tuple[str, str, str], dict[str, Any]] = {}
    generations: dict[tuple[str, str, str], Any] = {}
    for res in desired:
        meta = res.get("metadata") or {}
        key = (str(res.get("kind")), meta.get("namespace") or "", str(meta.get("name")))
        wanted[key] = res["status"]
        generations[key] = meta.get("generation")
    checked = cache.status_checked
    still_checked: dict[tuple[str, str, str], tuple[dict[str, Any], dict[str, Any] | None]] = {}
    out: list[PlannedWrite] = []
    for kind, (spec, version) in specs.items():
        for (ns, name), body in cache.objects.get(kind, {}).items():
            key = (kind, ns, name)
            want = wanted.get(key)
            seen = checked.get(key)
            if seen is not None and seen[0] is body and seen[1] == want:
                still_checked[key] = seen
                continue
            if want is None and not _has_entry_of(body, controller):
                continue
            rendered_from = generations.get(key)
            if rendered_from is not None and rendered_from != _generation(body):
                continue
            status = merged_status(body, want, controller, now)
            if status is None:
                still_checked[key] = (body, want)
                continue
            rv = str((body.get("metadata") or {}).get("resourceVersion") or "")
            out.append(PlannedWrite(spec, version, ns or None, name, rv, status))
    cache.status_checked = still_checked
    return out


def _generation(body: dict[str, Any]) -> Any:
    return (body.get("metadata") or {}).get("generation")


def _has_entry_of(body: dict[str, Any], controller: str) -> bool:
    status = body.get("status") or {}
    entries = [*(status.get("parents") or []), *(status.get("ancestors") or [])]
    return any(e.get("controllerName") == controller for e in entries)


class StatusWriter:
    # Enough in-flight PATCHes to keep the API server busy (it, not the client, is the limit:
    # ~150-300/s on the 2-core rig at 8, 16 or 32), and no more than httpx keeps alive (20):
    # beyond that every batch closed and re-opened TLS connections.
    def __init__(self, client: AsyncClient, concurrency: int = 16) -> None:
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
