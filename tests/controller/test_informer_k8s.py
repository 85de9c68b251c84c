"""The informer against a real kube-apiserver (hack/k8s): watches ask for bookmarks and resume
from the newest version seen without relisting; a version the server no longer has (410 Gone)
relists, and the relist drops what was deleted during the gap."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from lightkube import AsyncClient, Client, KubeConfig

import manifests
from hatchway.sources.kube import (
    WATCHED,
    Informer,
    ObjectCache,
    WatchGone,
    discover,
    resource_class,
)

from .conftest import RES

pytestmark = pytest.mark.k8s
SPECS = {s.kind: s for s in WATCHED}


def configmap(ns: str, name: str) -> Any:
    return RES["ConfigMap"].from_dict({"metadata": {"namespace": ns, "name": name}})


async def until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.1)
    return check()


def run_async(kubeconfig: Path, body: Callable[[AsyncClient], Awaitable[None]]) -> None:
    async def main() -> None:
        client = AsyncClient(KubeConfig.from_file(str(kubeconfig)))
        try:
            await asyncio.wait_for(body(client), 60)
        finally:
            await client.close()

    asyncio.run(main())


def test_watch_resumes_from_bookmarks_without_relisting(
    kubeconfig: Path, client: Client, ns: str
) -> None:
    async def body(ac: AsyncClient) -> None:
        # A kind nobody writes here: only bookmarks can move its version forward.
        spec = SPECS["TCPRoute"]
        version = await discover(ac, spec)
        assert version is not None
        quiet = Informer(ac, spec, version, ObjectCache(lambda *_: None), watch_timeout_s=4)
        busy = Informer(
            ac, SPECS["ConfigMap"], "v1", ObjectCache(lambda *_: None), watch_timeout_s=4
        )
        tasks = [asyncio.create_task(quiet.run()), asyncio.create_task(busy.run())]
        try:
            await quiet.synced.wait()
            await busy.synced.wait()
            listed = int(quiet.resource_version)
            # Writes elsewhere move the cluster's version on.
            await asyncio.to_thread(lambda: client.create(configmap(ns, "bump")))
            assert await until(lambda: busy.cache.get("ConfigMap", ns, "bump") is not None, 10)
            bumped = int(busy.resource_version)
            assert bumped > listed
            # A consistent list makes the API server catch its TCPRoute watch cache up with
            # etcd (in a live cluster, steady traffic does the same); the next bookmark then
            # carries the newer version.
            await asyncio.to_thread(lambda: list(client.list(resource_class(spec, version))))
            assert await until(
                lambda: quiet.bookmarks > 0 and int(quiet.resource_version) >= bumped, 30
            ), (quiet.bookmarks, quiet.resource_version, bumped)
            assert await until(lambda: quiet.watches >= 3 and busy.watches >= 3, 15)
            # Several server-ended watches, each resumed: still the one initial list.
            assert (quiet.relists, busy.relists) == (1, 1)
            assert not quiet.cache.objects["TCPRoute"] or all(
                k[0] != ns for k in quiet.cache.objects["TCPRoute"]
            )
            # Events after the resumptions still arrive.
            await asyncio.to_thread(lambda: client.create(configmap(ns, "late")))
            assert await until(lambda: busy.cache.get("ConfigMap", ns, "late") is not None, 10)
            assert busy.relists == 1
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    run_async(kubeconfig, body)


class GoneOnce(Informer):
    """An informer whose next watch meets 410 Gone. The API server answers so once the version
    has left its watch cache, which takes minutes of churn (compacting etcd is not enough: a
    version still in the cache is served from it), so the first watch is made to fail the
    way the server's does; the relist after it is real."""

    gone = True

    async def watch_once(self) -> None:
        if self.gone:
            self.gone = False
            raise WatchGone(self.resource_version)
        await super().watch_once()


def test_gone_version_relists_and_drops_deletes_missed_in_the_gap(
    kubeconfig: Path, client: Client, ns: str
) -> None:
    client.create(configmap(ns, "kept"))
    client.create(configmap(ns, "missed"))

    async def body(ac: AsyncClient) -> None:
        cache = ObjectCache(lambda *_: None)
        inf = GoneOnce(ac, SPECS["ConfigMap"], "v1", cache, watch_timeout_s=5)
        await inf.relist()
        assert cache.get("ConfigMap", ns, "missed") is not None
        # The gap: a delete nobody watched.
        configmaps: Any = RES["ConfigMap"]
        await asyncio.to_thread(lambda: client.delete(configmaps, "missed", namespace=ns))
        listed = inf.resource_version
        task = asyncio.create_task(inf.run())
        try:
            assert await until(lambda: inf.relists == 2, 20), inf.relists
            assert cache.get("ConfigMap", ns, "missed") is None
            assert cache.get("ConfigMap", ns, "kept") is not None
            assert int(inf.resource_version) > int(listed)
            # And the watch after the relist works.
            await asyncio.to_thread(lambda: client.create(configmap(ns, "after")))
            assert await until(lambda: cache.get("ConfigMap", ns, "after") is not None, 10)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    run_async(kubeconfig, body)


def secret(ns: str, name: str, type_: str, **data: str) -> Any:
    return RES["Secret"].from_dict(manifests.secret(name, type_, data, ns))


def test_only_tls_secrets_reach_the_cache_and_others_trigger_nothing(
    kubeconfig: Path, client: Client, ns: str
) -> None:
    """The Secret informer asks the API server for `type=kubernetes.io/tls` only: Opaque and
    other Secrets are neither listed nor watched, so they never sit in our memory and their
    changes start no rebuild (`on_change` is what schedules one)."""
    tls = {"tls.crt": "not checked here", "tls.key": "not checked here"}
    client.create(secret(ns, "cert", "kubernetes.io/tls", **tls))
    client.create(secret(ns, "password", "Opaque", password="hunter2"))
    client.create(secret(ns, "basic", "kubernetes.io/basic-auth", username="u", password="p"))

    async def body(ac: AsyncClient) -> None:
        changes: list[tuple[str, bool]] = []
        cache = ObjectCache(lambda kind, spec_changed: changes.append((kind, spec_changed)))
        inf = Informer(ac, SPECS["Secret"], "v1", cache, watch_timeout_s=30)
        task = asyncio.create_task(inf.run())
        try:
            await asyncio.wait_for(inf.synced.wait(), 20)
            assert {k for k in cache.objects["Secret"] if k[0] == ns} == {(ns, "cert")}
            changes.clear()
            secrets: Any = RES["Secret"]

            def churn() -> None:
                client.create(secret(ns, "token", "Opaque", token="t1"))
                patch = {"stringData": {"password": "changed"}}
                client.patch(secrets, "password", patch, namespace=ns)
                client.delete(secrets, "basic", namespace=ns)
                # Last: one watch delivers events in order, so once this one is seen,
                # any event of the others would have been seen before it.
                patch = {"metadata": {"annotations": {"rotated": "1"}}}
                client.patch(secrets, "cert", patch, namespace=ns)

            await asyncio.to_thread(churn)
            rotated = lambda: (  # noqa: E731
                (cache.get("Secret", ns, "cert") or {}).get("metadata", {}).get("annotations")
            )
            assert await until(lambda: bool(rotated()), 10)
            assert changes == [("Secret", True)]  # the TLS Secret's change, and only that
            assert {k for k in cache.objects["Secret"] if k[0] == ns} == {(ns, "cert")}
            assert inf.relists == 1
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    run_async(kubeconfig, body)
