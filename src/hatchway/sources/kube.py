"""The API server as an input source: list+watch of every kind Hatchway reads into a local cache.

One informer per kind lists, then watches from the list's resourceVersion. lightkube re-opens
a watch that the server closed cleanly from the last version it saw; a 410 Gone (the version was
compacted away) ends the watch, and the informer relists and replaces its part of the cache,
which is how DELETEs missed during the gap are noticed. lightkube 1.0.1 has no
`allowWatchBookmarks`, so a quiet kind may relist after a compaction: harmless, just a list.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx2
from lightkube import ALL_NS, ApiError, AsyncClient
from lightkube.generic_resource import (
    GenericGlobalResource,
    GenericNamespacedResource,
    create_global_resource,
    create_namespaced_resource,
)

from hatchway.model.inputs import Document
from hatchway.model.meta import GATEWAY_GROUP
from hatchway.model.parse import ParseResult, parse_documents

log = logging.getLogger("hatchway.kube")

Resource = type[GenericNamespacedResource] | type[GenericGlobalResource]
ObjKey = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped kinds

# Version preference for Gateway API kinds: the first one the API server serves is watched.
VERSION_ORDER = ("v1", "v1beta1", "v1alpha3", "v1alpha2")


@dataclass(frozen=True)
class KindSpec:
    kind: str
    group: str
    versions: tuple[str, ...]
    plural: str
    namespaced: bool = True


def _gw(kind: str, plural: str, *versions: str, namespaced: bool = True) -> KindSpec:
    return KindSpec(kind, GATEWAY_GROUP, versions, plural, namespaced)


WATCHED: tuple[KindSpec, ...] = (
    _gw("GatewayClass", "gatewayclasses", "v1", "v1beta1", namespaced=False),
    _gw("Gateway", "gateways", "v1", "v1beta1"),
    _gw("ListenerSet", "listenersets", "v1"),
    _gw("HTTPRoute", "httproutes", "v1", "v1beta1"),
    _gw("GRPCRoute", "grpcroutes", "v1"),
    _gw("TLSRoute", "tlsroutes", "v1", "v1alpha3", "v1alpha2"),
    _gw("TCPRoute", "tcproutes", "v1", "v1alpha2"),
    _gw("UDPRoute", "udproutes", "v1", "v1alpha2"),
    _gw("ReferenceGrant", "referencegrants", "v1", "v1beta1"),
    _gw("BackendTLSPolicy", "backendtlspolicies", "v1", "v1alpha3"),
    KindSpec("Service", "", ("v1",), "services"),
    KindSpec("EndpointSlice", "discovery.k8s.io", ("v1",), "endpointslices"),
    KindSpec("Secret", "", ("v1",), "secrets"),
    KindSpec("ConfigMap", "", ("v1",), "configmaps"),
    KindSpec("Namespace", "", ("v1",), "namespaces", namespaced=False),
)


@functools.cache
def resource_class(spec: KindSpec, version: str) -> Resource:
    """The lightkube class of a kind (made once: lightkube refuses a second registration)."""
    make = create_namespaced_resource if spec.namespaced else create_global_resource
    return make(spec.group, version, spec.kind, spec.plural)


def _ns(spec: KindSpec) -> str | None:
    """Namespaced kinds are listed and watched across all namespaces."""
    return ALL_NS if spec.namespaced else None


def object_key(body: dict[str, Any]) -> ObjKey:
    meta = body.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name")))


def _plain(obj: Any, api_version: str, kind: str) -> dict[str, Any]:
    body: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    meta = body.get("metadata") or {}
    # managedFields are large and say nothing the translation needs.
    meta.pop("managedFields", None)
    body.setdefault("apiVersion", api_version)
    body.setdefault("kind", kind)
    return body


class ObjectCache:
    """The newest body of every watched object, by kind, plus a change callback."""

    def __init__(self, on_change: Callable[[str, bool], None]) -> None:
        """`on_change(kind, spec_changed)`: spec_changed is False when only status moved."""
        self.objects: dict[str, dict[ObjKey, dict[str, Any]]] = {}
        self.api_versions: dict[str, str] = {}
        self._on_change = on_change

    def replace_kind(self, kind: str, bodies: Iterable[dict[str, Any]]) -> None:
        fresh = {object_key(b): b for b in bodies}
        old = self.objects.get(kind)
        self.objects[kind] = fresh
        if old is None or _versions(old) != _versions(fresh):
            self._on_change(kind, True)

    def upsert(self, kind: str, body: dict[str, Any]) -> None:
        objects = self.objects.setdefault(kind, {})
        key = object_key(body)
        old = objects.get(key)
        objects[key] = body
        self._on_change(kind, old is None or _without_status(old) != _without_status(body))

    def delete(self, kind: str, body: dict[str, Any]) -> None:
        if self.objects.setdefault(kind, {}).pop(object_key(body), None) is not None:
            self._on_change(kind, True)

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.objects.get(kind, {}).get((namespace or "", name))

    def documents(self) -> list[Document]:
        docs: list[Document] = []
        for kind, objects in self.objects.items():
            for i, body in enumerate(objects.values()):
                docs.append(Document(source=f"cluster {kind}", index=i, body=body))
        return docs

    def parse(self) -> ParseResult:
        """The cache as a validated Snapshot (invalid objects are dropped and reported)."""
        return parse_documents(self.documents())


def _without_status(body: dict[str, Any]) -> dict[str, Any]:
    """What translation reads: everything but status and the bookkeeping metadata."""
    meta = {k: v for k, v in (body.get("metadata") or {}).items() if k not in ("resourceVersion",)}
    return {**{k: v for k, v in body.items() if k != "status"}, "metadata": meta}


def _versions(objects: dict[ObjKey, dict[str, Any]]) -> dict[ObjKey, Any]:
    return {k: (b.get("metadata") or {}).get("resourceVersion") for k, b in objects.items()}


async def discover(client: AsyncClient, spec: KindSpec) -> str | None:
    """The version of `spec` to watch: the most preferred one the API server serves."""
    for version in spec.versions:
        # lightkube's overloads cannot tell namespaced from global for a class made at run time.
        res: Any = resource_class(spec, version)
        try:
            async for _ in client.list(res, namespace=_ns(spec), chunk_size=1):
                break
            return version
        except ApiError as exc:
            if exc.status.code in (404, 405):
                continue
            raise
    return None


class Informer:
    """list+watch of one kind into the cache, relisting whenever the watch cannot resume."""

    def __init__(
        self,
        client: AsyncClient,
        spec: KindSpec,
        version: str,
        cache: ObjectCache,
        watch_timeout_s: int = 300,
    ) -> None:
        self.client = client
        self.spec = spec
        self.version = version
        self.api_version = f"{spec.group}/{version}" if spec.group else version
        self.res: Any = resource_class(spec, version)
        self.cache = cache
        self.watch_timeout_s = watch_timeout_s
        self.synced = asyncio.Event()
        self.relists = 0

    async def relist(self) -> str:
        listing = self.client.list(self.res, namespace=_ns(self.spec), chunk_size=500)
        bodies = [_plain(o, self.api_version, self.spec.kind) async for o in listing]
        try:
            rv = listing.resourceVersion
        except Exception:  # an empty list may carry no version before iteration; list again
            rv = ""
        self.cache.replace_kind(self.spec.kind, bodies)
        self.relists += 1
        self.synced.set()
        return rv

    async def run(self) -> None:
        backoff = 0.2
        while True:
            try:
                rv = await self.relist()
                async for event, obj in self.client.watch(
                    self.res,
                    namespace=_ns(self.spec),
                    resource_version=rv or None,
                    server_timeout=self.watch_timeout_s,
                ):
                    body = _plain(obj, self.api_version, self.spec.kind)
                    if event == "DELETED":
                        self.cache.delete(self.spec.kind, body)
                    elif event in ("ADDED", "MODIFIED"):
                        self.cache.upsert(self.spec.kind, body)
                    backoff = 0.2
            except ApiError as exc:
                if exc.status.code == 410:
                    log.info("%s: watch expired (410 Gone); relisting", self.spec.kind)
                    continue
                log.warning("%s: watch failed: %s; retrying", self.spec.kind, exc)
            except (httpx2.HTTPError, OSError) as exc:
                log.warning("%s: connection lost: %s; retrying", self.spec.kind, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)
