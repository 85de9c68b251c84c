"""Leader election with a coordination.k8s.io/v1 Lease, so two replicas never fight over status.

Every replica programs its own Envoy; only the leader writes status and finalizers. The holder
renews every `renew_s`; another replica takes over once `renewTime + leaseDurationSeconds` has
passed. Every update carries the resourceVersion it was computed from, so of two replicas
racing for an expired Lease exactly one wins (the other gets 409).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
from lightkube import ApiError, AsyncClient
from lightkube.generic_resource import create_namespaced_resource

from hatchway.sources import clock

log = logging.getLogger("hatchway.lease")

Lease = create_namespaced_resource("coordination.k8s.io", "v1", "Lease", "leases")


def _micro(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class LeaderElector:
    def __init__(  # noqa: PLR0917
        self,
        client: AsyncClient,
        identity: str,
        namespace: str = "default",
        name: str = "hatchway-controller",
        duration_s: int = 15,
        renew_s: float = 5.0,
    ) -> None:
        self.client = client
        self.identity = identity
        self.namespace = namespace
        self.name = name
        self.duration_s = duration_s
        self.renew_s = renew_s
        self.is_leader = asyncio.Event()
        self.transitions = 0

    def _spec(self, now: datetime, acquired: str | None, transitions: int) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.duration_s,
            "acquireTime": acquired or _micro(now),
            "renewTime": _micro(now),
            "leaseTransitions": transitions,
        }

    async def try_acquire(self) -> bool:
        now = clock.now()
        try:
            lease = await self.client.get(Lease, self.name, namespace=self.namespace)
        except ApiError as exc:
            if exc.status.code != 404:
                raise
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": self._spec(now, None, 0),
            }
            try:
                await self.client.create(Lease.from_dict(body))
            except ApiError as exc2:
                if exc2.status.code == 409:
                    return False
                raise
            return True
        current: dict[str, Any] = lease.to_dict()  # type: ignore[no-untyped-call]
        spec = current.get("spec") or {}
        holder = spec.get("holderIdentity")
        renewed = _parse(spec.get("renewTime")) or _parse(spec.get("acquireTime"))
        duration = int(spec.get("leaseDurationSeconds") or self.duration_s)
        transitions = int(spec.get("leaseTransitions") or 0)
        if holder == self.identity:
            new_spec = self._spec(now, spec.get("acquireTime"), transitions)
        elif holder and renewed is not None and renewed + timedelta(seconds=duration) > now:
            return False
        else:
            new_spec = self._spec(now, None, transitions + 1)
        current["spec"] = new_spec
        current.get("metadata", {}).pop("managedFields", None)
        try:
            await self.client.replace(Lease.from_dict(current))
        except ApiError as exc:
            if exc.status.code == 409:
                return False
            raise
        return True

    async def run(self) -> None:
        while True:
            try:
                leading = await self.try_acquire()
            except (ApiError, httpx2.HTTPError, OSError) as exc:
                log.warning("lease %s/%s: %s", self.namespace, self.name, exc)
                leading = False
            if leading and not self.is_leader.is_set():
                log.info("became leader (lease %s/%s)", self.namespace, self.name)
                self.transitions += 1
                self.is_leader.set()
            elif not leading and self.is_leader.is_set():
                log.warning("lost leadership (lease %s/%s)", self.namespace, self.name)
                self.is_leader.clear()
            await asyncio.sleep(self.renew_s if leading else self.renew_s / 2)

    async def release(self) -> None:
        """Give the Lease up on a clean shutdown so a standby takes over at once."""
        if not self.is_leader.is_set():
            return
        try:
            lease = await self.client.get(Lease, self.name, namespace=self.namespace)
            current: dict[str, Any] = lease.to_dict()  # type: ignore[no-untyped-call]
            if (current.get("spec") or {}).get("holderIdentity") == self.identity:
                current["spec"]["holderIdentity"] = None
                current.get("metadata", {}).pop("managedFields", None)
                await self.client.replace(Lease.from_dict(current))
        except (ApiError, httpx2.HTTPError, OSError) as exc:
            log.info("lease release: %s", exc)
        self.is_leader.clear()
