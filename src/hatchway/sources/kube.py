"""The API server as an input source: list+watch of every kind Hatchway reads into a local cache.

One informer per kind lists, then watches from the list's resourceVersion with bookmarks, and
re-opens the watch from the newest version it saw (an event's or a bookmark's) whenever it ends;
a 410 Gone (that version was compacted away) makes it relist and replace its part of the cache,
which is how DELETEs missed during the gap are noticed.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import httpx2
from lightkube import ALL_NS, ApiError, AsyncClient
from lightkube.core.client import FieldSelector
from lightkube.generic_resource import (
    GenericGlobalResource,
    GenericNamespacedResource,
    create_global_resource,
    create_namespaced_resource,
)
from lightkube.models import meta_v1

from hatchway.model.documents import Document
from hatchway.model.meta import EPOCH, GATEWAY_GROUP
from hatchway.model.parse import ParseMemo, ParseResult, parse_documents
from hatchway.model.refs import ObjectRef
from hatchway.model.xbackend import XBACKEND_GROUP
from hatchway.sources.files import observed

log = logging.getLogger("hatchway.kube")

Resource = type[GenericNamespacedResource] | type[GenericGlobalResource]
# Within one kind's table: (namespace, name), namespace "" for cluster-scoped kinds (an
# ObjectRef without its kind, as the API server's per-kind lists are keyed).
NamespacedName = tuple[str, str]

# Version preference for Gateway API kinds: the first one the API server serves is watched.
VERSION_ORDER = ("v1", "v1beta1", "v1alpha3", "v1alpha2")


@dataclass(frozen=True)
class KindSpec:
    kind: str
    group: str
    versions: tuple[str, ...]
    plural: str
    namespaced: bool = True
    # Watched only when this kind is served too (Pods matter only to XBackend selectors).
    only_with: str | None = None
    # A field selector the API server applies to the list and the watch: what it leaves
    # out never reaches this process.
    fields: tuple[tuple[str, str], ...] = ()
    # A label selector, the same way (e.g. only the objects this controller generated).
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def field_selector(self) -> str | None:
        return ",".join(f"{k}={v}" for k, v in self.fields) or None

    @property
    def label_selector(self) -> str | None:
        return ",".join(f"{k}={v}" for k, v in self.labels) or None


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
    # Gateway API v1.7.0 experimental (GEP-4768); not watched where its CRD is not installed.
    KindSpec(
        "XTelemetryPolicy", "gateway.networking.x-k8s.io", ("v1alpha1",), "xtelemetrypolicies"
    ),
    KindSpec("GatewayParameters", "hatchway.dev", ("v1alpha1",), "gatewayparameters"),
    KindSpec("Service", "", ("v1",), "services"),
    KindSpec("EndpointSlice", "discovery.k8s.io", ("v1",), "endpointslices"),
    # Only TLS Secrets: Listener certificateRefs and a Gateway's backend clientCertificateRef
    # need `kubernetes.io/tls` (CA bundles come from ConfigMaps); service-account tokens,
    # registry credentials and Opaque application secrets stay out of our memory.
    KindSpec("Secret", "", ("v1",), "secrets", fields=(("type", "kubernetes.io/tls"),)),
    KindSpec("ConfigMap", "", ("v1",), "configmaps"),
    KindSpec("Namespace", "", ("v1",), "namespaces", namespaced=False),
    # Gateway API v1.7 experimental: XBackend, whose endpointSelector picks Pods.
    KindSpec("XBackend", XBACKEND_GROUP, ("v1alpha1",), "xbackends"),
    KindSpec("Pod", "", ("v1",), "pods", only_with="XBackend"),
    # CA bundles for caCertificateRefs (GA in Kubernetes 1.37, beta before).
    KindSpec(
        "ClusterTrustBundle",
        "certificates.k8s.io",
        ("v1", "v1beta1"),
        "clustertrustbundles",
        namespaced=False,
    ),
)


@functools.cache
def resource_class(spec: KindSpec, version: str) -> Resource:
    """The lightkube class of a kind (made once: lightkube refuses a second registration)."""
    make = create_namespaced_resource if spec.namespaced else create_global_resource
    return make(spec.group, version, spec.kind, spec.plural)


def _ns(spec: KindSpec) -> str | None:
    """Namespaced kinds are listed and watched across all namespaces."""
    return ALL_NS if spec.namespaced else None


def _fields(spec: KindSpec) -> FieldSelector | None:
    return dict(spec.fields) or None


def _labels(spec: KindSpec) -> dict[str, Any] | None:
    return dict(spec.labels) or None


# Provisioned data planes: the proxy Deployments this controller generated (their readiness
# decides Programmed), found by the labels every generated object carries.
PROXY_DEPLOYMENTS = KindSpec(
    "Deployment",
    "apps",
    ("v1",),
    "deployments",
    labels=(
        ("app.kubernetes.io/managed-by", "hatchway"),
        ("app.kubernetes.io/name", "hatchway-proxy"),
    ),
)


def object_key(body: dict[str, Any]) -> NamespacedName:
    meta = body.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name")))


def _plain(obj: Any, api_version: str, kind: str) -> dict[str, Any]:
    body: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    meta = body.get("metadata") or {}
    # managedFields are large and say nothing the translation needs.
    meta.pop("managedFields", None)
    body.setdefault("apiVersion", api_version)
    body.setdefault("kind", kind)
    if kind == "Pod":
        body = _pod_essentials(body)
    return body


_POD_STATUS = ("phase", "podIP", "podIPs", "conditions")


def _pod_essentials(body: dict[str, Any]) -> dict[str, Any]:
    """What XBackend selectors read of a Pod (labels, addresses, readiness): Pods are many
    and their specs large, and a spec change that keeps these is no change to us."""
    status = body.get("status") or {}
    return {
        "apiVersion": body.get("apiVersion"),
        "kind": "Pod",
        "metadata": body.get("metadata") or {},
        "status": {k: status[k] for k in _POD_STATUS if k in status},
    }


class ObjectCache:
    """The newest body of every watched object, by kind, plus a change callback.

    Parsing is incremental: each object keeps the body it was last validated from for as long
    as only its status or resourceVersion moves (our own status writes), and the parse memo
    re-validates only bodies it has not seen, so a rebuild costs the objects that changed.
    """

    def __init__(self, on_change: Callable[[str, bool], None]) -> None:
        """`on_change(kind, spec_changed)`: spec_changed is False when only status moved."""
        self.objects: dict[str, dict[NamespacedName, dict[str, Any]]] = {}
        self.api_versions: dict[str, str] = {}
        self._on_change = on_change
        # What parsing reads, per object: a Document of the first body of its current spec
        # (numbered in arrival order per kind, so the number names the same object for life).
        self._spec_docs: dict[str, dict[NamespacedName, Document]] = {}
        self._numbered = 0
        self._memo = ParseMemo()
        # Kept by status planning (status_writer.plan): (kind, namespace, name) -> the body
        # and the desired status it was found up to date with.
        self.status_checked: dict[
            tuple[str, str, str], tuple[dict[str, Any], dict[str, Any] | None]
        ] = {}

    def replace_kind(self, kind: str, bodies: Iterable[dict[str, Any]]) -> None:
        fresh = {object_key(b): b for b in bodies}
        old = self.objects.get(kind)
        self.objects[kind] = fresh
        before = self._spec_docs.get(kind, {})
        docs: dict[NamespacedName, Document] = {}
        for key, body in fresh.items():
            prev = before.get(key)
            same = prev is not None and _same_spec(_body(prev), body)
            docs[key] = prev if prev is not None and same else self._document(kind, body)
        self._spec_docs[kind] = docs
        if old is None or _versions(old) != _versions(fresh):
            self._on_change(kind, True)

    def upsert(self, kind: str, body: dict[str, Any]) -> None:
        objects = self.objects.setdefault(kind, {})
        docs = self._spec_docs.setdefault(kind, {})
        key = object_key(body)
        prev = docs.get(key)
        spec_changed = prev is None or not _same_spec(_body(prev), body)
        if spec_changed:
            docs[key] = self._document(kind, body)
        elif "spec" in body and prev is not None:
            # Equal, so the parsed body's copy serves both: one spec in memory per object.
            body["spec"] = _body(prev).get("spec")
        objects[key] = body
        self._on_change(kind, spec_changed)

    def delete(self, kind: str, body: dict[str, Any]) -> None:
        key = object_key(body)
        self._spec_docs.setdefault(kind, {}).pop(key, None)
        if self.objects.setdefault(kind, {}).pop(key, None) is not None:
            self._on_change(kind, True)

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.objects.get(kind, {}).get((namespace or "", name))

    def _document(self, kind: str, body: dict[str, Any]) -> Document:
        self._numbered += 1
        return Document(source=f"cluster {kind}", index=self._numbered, body=body)

    def documents(self) -> list[Document]:
        docs: list[Document] = []
        # list() copies in one step: parse() runs in a worker thread while watches upsert.
        for objects in list(self._spec_docs.values()):
            docs += list(objects.values())
        return docs

    def parse(self) -> ParseResult:
        """The cache as a validated Snapshot (invalid objects are dropped and reported).

        Only bodies not validated by the previous parse are validated again. Not to be called
        concurrently with itself (the memo is replaced by each call).
        """
        result = parse_documents(self.documents(), memo=self._memo, stamp=_from_the_api_server)
        return observed(result)


def _from_the_api_server(_key: ObjectRef, _position: int) -> datetime:
    """The API server stamps every object's creationTimestamp, so the stand-in is never used;
    a constant keeps the parse memo's key stable when objects come and go."""
    return EPOCH


def _body(doc: Document) -> dict[str, Any]:
    return cast(dict[str, Any], doc.body)  # the cache makes its Documents from dicts


def _same_spec(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a is b or _without_status(a) == _without_status(b)


def _without_status(body: dict[str, Any]) -> dict[str, Any]:
    """What translation reads: everything but the bookkeeping metadata and, except for Pods
    (whose addresses and readiness are status), the status."""
    meta = {k: v for k, v in (body.get("metadata") or {}).items() if k not in ("resourceVersion",)}
    keep_status = body.get("kind") == "Pod"
    return {**{k: v for k, v in body.items() if keep_status or k != "status"}, "metadata": meta}


def _versions(objects: dict[NamespacedName, dict[str, Any]]) -> dict[NamespacedName, Any]:
    return {k: (b.get("metadata") or {}).get("resourceVersion") for k, b in objects.items()}


async def discover(client: AsyncClient, spec: KindSpec) -> str | None:
    """The version of `spec` to watch: the most preferred one the API server serves."""
    for version in spec.versions:
        # lightkube's overloads cannot tell namespaced from global for a class made at run time.
        res: Any = resource_class(spec, version)
        try:
            listing = client.list(
                res, namespace=_ns(spec), chunk_size=1, fields=_fields(spec), labels=_labels(spec)
            )
            async for _ in listing:
                break
            return version
        except ApiError as exc:
            if exc.status.code in (404, 405):
                continue
            raise
        except httpx2.HTTPStatusError as exc:
            # A group the API server does not serve at all answers a plain 404 page, which
            # lightkube does not turn into an ApiError.
            if exc.response.status_code in (404, 405):
                continue
            raise
    return None


class WatchGone(Exception):
    """The version a watch would resume from was compacted away (410 Gone): relist."""


class Informer:
    """list+watch of one kind into the cache.

    The watch asks for bookmarks (`allowWatchBookmarks`): the API server then sends, now and
    then, the newest resourceVersion even when nothing of this kind changed, so a watch that
    ends (server timeout, lost connection) resumes from a recent version instead of one that
    compaction may have removed. Only a 410 Gone relists, which also notices DELETEs missed
    during the gap. lightkube 1.0.1 cannot ask for bookmarks, so the watch request is built
    with its request builder and read here, as JSON lines into plain dicts.
    """

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
        self.watches = 0
        self.bookmarks = 0
        self.resource_version = ""  # the newest version seen: listed, event or bookmark

    async def relist(self) -> str:
        listing = self.client.list(
            self.res,
            namespace=_ns(self.spec),
            chunk_size=500,
            fields=_fields(self.spec),
            labels=_labels(self.spec),
        )
        bodies = [_plain(o, self.api_version, self.spec.kind) async for o in listing]
        try:
            rv = listing.resourceVersion
        except Exception:  # an empty list may carry no version before iteration; list again
            rv = ""
        self.cache.replace_kind(self.spec.kind, bodies)
        self.relists += 1
        self.resource_version = rv
        self.synced.set()
        return rv

    async def watch_once(self) -> None:
        """One watch request from `resource_version`, until the server ends it.

        Raises WatchGone when the version is too old, ApiError for other refusals, and
        httpx2/OS errors when the connection breaks (the version seen so far is kept).
        """
        inner: Any = self.client._client
        br = inner.prepare_request(
            "list",
            res=self.res,
            namespace=_ns(self.spec),
            watch=True,
            params={
                "timeoutSeconds": self.watch_timeout_s,
                "resourceVersion": self.resource_version or None,
                "allowWatchBookmarks": "true",
                "fieldSelector": self.spec.field_selector,
                "labelSelector": self.spec.label_selector,
            },
        )
        # The server ends the watch after timeoutSeconds and sends a bookmark about once a
        # minute, so a read that waits much longer than both means a dead connection.
        br.timeout = httpx2.Timeout(10.0, read=max(self.watch_timeout_s, 60) + 30.0)
        resp = await inner.send(inner.build_adapter_request(br), stream=True)
        self.watches += 1
        try:
            if resp.status_code >= 400:
                await resp.aread()
                if resp.status_code == 410:
                    raise WatchGone(self.resource_version)
                inner.raise_for_status(resp)
            async for line in resp.aiter_lines():
                if line:
                    self._apply(json.loads(line))
        finally:
            await resp.aclose()

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise WatchGone(self.resource_version)
            status: Any = meta_v1.Status.from_dict(obj)
            raise ApiError(status=status)
        meta = obj.get("metadata") or {}
        rv = meta.get("resourceVersion")
        if kind == "BOOKMARK":
            self.bookmarks += 1
        elif kind == "DELETED":
            self.cache.delete(self.spec.kind, _plain(obj, self.api_version, self.spec.kind))
        elif kind in ("ADDED", "MODIFIED"):
            self.cache.upsert(self.spec.kind, _plain(obj, self.api_version, self.spec.kind))
        if rv:
            self.resource_version = str(rv)

    async def run(self) -> None:
        backoff = 0.2
        gone_in_a_row = 0
        while True:
            try:
                if not self.resource_version:
                    await self.relist()
                await self.watch_once()
                backoff, gone_in_a_row = 0.2, 0
                continue  # ended by the server's timeout: resume from the newest version
            except WatchGone:
                log.info("%s: watch expired (410 Gone); relisting", self.spec.kind)
                self.resource_version = ""
                gone_in_a_row += 1
                if gone_in_a_row == 1:
                    continue  # the usual case: relist at once
                # Gone again right after a relist: do not hammer the API server with lists.
            except ApiError as exc:
                log.warning("%s: watch failed: %s; retrying", self.spec.kind, exc)
            except (httpx2.HTTPError, OSError) as exc:
                log.warning("%s: connection lost: %s; resuming", self.spec.kind, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)
