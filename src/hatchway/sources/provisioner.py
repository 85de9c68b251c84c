"""Apply each Gateway's data-plane objects to the API server, and remove the ones no longer
wanted (the leader only).

Server-side apply with our own field manager: fields others set (an HPA's replicas, a cloud
provider's Service annotations) are left alone, ours are enforced. An object is re-applied
only when what we want of it changed. Objects of a deleted Gateway go with it (owner
references, the garbage collector); objects of a Gateway that is no longer ours (another
class, not accepted) are deleted here, found by the labels every generated object carries.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from typing import Any

from lightkube import ApiError, AsyncClient, codecs
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service, ServiceAccount
from lightkube.resources.policy_v1 import PodDisruptionBudget

from hatchway.provision.names import MANAGED_BY

log = logging.getLogger("hatchway.provision")

Key = tuple[str, str, str]  # kind, namespace, name
KINDS: dict[str, Any] = {
    "ServiceAccount": ServiceAccount,
    "Deployment": Deployment,
    "PodDisruptionBudget": PodDisruptionBudget,
    "Service": Service,
}
FIELD_MANAGER = "hatchway"


def _key(obj: dict[str, Any]) -> Key:
    meta = obj["metadata"]
    return (str(obj["kind"]), str(meta["namespace"]), str(meta["name"]))


def _digest(obj: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


class Provisioner:
    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self._applied: dict[Key, str] = {}  # what we last applied, by its digest
        self._swept = False  # objects left by an earlier leader were looked for
        self.applies = 0
        self.deletes = 0

    async def sync(self, desired: Iterable[dict[str, Any]]) -> list[str]:
        """Make the cluster hold exactly `desired` of our objects; returns the failures (each
        one line), which the next sync retries."""
        wanted = {_key(o): o for o in desired}
        failures: list[str] = []
        if not self._swept:
            await self._adopt_existing(failures)
        for key, obj in wanted.items():
            digest = _digest(obj)
            if self._applied.get(key) == digest:
                continue
            try:
                await self.client.apply(
                    codecs.from_dict(obj), field_manager=FIELD_MANAGER, force=True
                )
            except ApiError as exc:
                failures.append(f"apply {'/'.join(key)}: {exc.status.message}")
                continue
            self._applied[key] = digest
            self.applies += 1
        for key in [k for k in self._applied if k not in wanted]:
            if await self._delete(key, failures):
                del self._applied[key]
        return failures

    async def _adopt_existing(self, failures: list[str]) -> None:
        """List the objects earlier leaders made: unwanted ones are then deleted by `sync`."""
        for kind, resource in KINDS.items():
            try:
                async for obj in self.client.list(resource, namespace="*", labels=_labels()):
                    meta = obj.metadata
                    assert meta is not None and meta.namespace and meta.name
                    self._applied.setdefault((kind, meta.namespace, meta.name), "")
            except ApiError as exc:
                failures.append(f"list {kind}: {exc.status.message}")
                return
        self._swept = True

    async def _delete(self, key: Key, failures: list[str]) -> bool:
        kind, namespace, name = key
        try:
            await self.client.delete(KINDS[kind], name, namespace=namespace)
        except ApiError as exc:
            if exc.status.code != 404:
                failures.append(f"delete {'/'.join(key)}: {exc.status.message}")
                return False
        self.deletes += 1
        log.info("deleted %s %s/%s (its Gateway is no longer ours)", kind, namespace, name)
        return True


def _labels() -> dict[str, Any]:
    return dict(MANAGED_BY)
