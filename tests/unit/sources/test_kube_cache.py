"""The informer cache without a cluster: a relist replaces a kind (deletes missed during a watch
gap disappear), status-only updates ask for no rebuild and no re-validation, and watch lines
(events, bookmarks, errors) move the cache and the version a watch resumes from."""

from __future__ import annotations

from typing import Any, cast

import pytest
from lightkube import ApiError

from hatchway.sources.kube import WATCHED, Informer, ObjectCache, WatchGone

SPECS = {s.kind: s for s in WATCHED}


def route(name: str, rv: str, status: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"namespace": "default", "name": name, "resourceVersion": rv},
        "spec": {"parentRefs": [{"name": "gw"}]},
    }
    if status is not None:
        body["status"] = status
    return body


def test_relist_drops_objects_deleted_during_a_gap() -> None:
    changes: list[tuple[str, bool]] = []
    cache = ObjectCache(lambda kind, spec: changes.append((kind, spec)))
    cache.replace_kind("HTTPRoute", [route("a", "1"), route("b", "2")])
    cache.replace_kind("HTTPRoute", [route("a", "1")])
    assert cache.get("HTTPRoute", "default", "b") is None
    assert changes == [("HTTPRoute", True), ("HTTPRoute", True)]
    cache.replace_kind("HTTPRoute", [route("a", "1")])  # nothing moved: no signal
    assert len(changes) == 2


def test_status_only_update_needs_no_rebuild() -> None:
    changes: list[tuple[str, bool]] = []
    cache = ObjectCache(lambda kind, spec: changes.append((kind, spec)))
    cache.upsert("HTTPRoute", route("a", "1"))
    cache.upsert("HTTPRoute", route("a", "2", status={"parents": []}))
    cache.upsert("HTTPRoute", {**route("a", "3"), "spec": {"parentRefs": [{"name": "other"}]}})
    assert changes == [("HTTPRoute", True), ("HTTPRoute", False), ("HTTPRoute", True)]


def test_parse_turns_the_cache_into_a_snapshot() -> None:
    cache = ObjectCache(lambda kind, spec: None)
    cache.upsert("HTTPRoute", route("a", "1", status={"parents": []}))
    parsed = cache.parse()
    assert not parsed.errors
    assert [r.metadata.name for r in parsed.snapshot.http_routes] == ["a"]


def pod(rv: str, ready: str, ip: str = "10.1.0.5") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "namespace": "default",
            "name": "p",
            "resourceVersion": rv,
            "labels": {"app": "x"},
        },
        "spec": {"containers": [{"name": "c", "image": "i"}]},
        "status": {
            "phase": "Running",
            "podIP": ip,
            "hostIP": "192.0.2.1",
            "conditions": [{"type": "Ready", "status": ready}],
        },
    }


def test_a_pods_readiness_is_a_change() -> None:
    """Pods are watched for XBackend selectors: their addresses and readiness are status, so
    for Pods a status change is a change (and the rest of the Pod is not kept)."""
    changes: list[tuple[str, bool]] = []
    cache = ObjectCache(lambda kind, spec: changes.append((kind, spec)))
    inf = Informer(cast(Any, None), SPECS["Pod"], "v1", cache)
    inf._apply({"type": "ADDED", "object": pod("1", "False")})
    inf._apply({"type": "MODIFIED", "object": pod("2", "True")})
    assert changes == [("Pod", True), ("Pod", True)]
    kept = cache.get("Pod", "default", "p")
    assert kept is not None and "spec" not in kept and "hostIP" not in kept["status"]
    (parsed,) = cache.parse().snapshot.pods
    assert parsed.ready and parsed.addresses == ("10.1.0.5",)


def informer(cache: ObjectCache) -> Informer:
    # _apply reads no client: it is what the watch does with each decoded line.
    return Informer(cast(Any, None), SPECS["HTTPRoute"], "v1", cache)


def test_watch_events_update_the_cache_and_the_resume_version() -> None:
    cache = ObjectCache(lambda kind, spec: None)
    inf = informer(cache)
    inf._apply({"type": "ADDED", "object": route("a", "5")})
    assert cache.get("HTTPRoute", "default", "a") is not None
    inf._apply(
        {"type": "BOOKMARK", "object": {"kind": "HTTPRoute", "metadata": {"resourceVersion": "9"}}}
    )
    assert (inf.resource_version, inf.bookmarks) == ("9", 1)
    assert list(cache.objects["HTTPRoute"]) == [("default", "a")]
    inf._apply({"type": "DELETED", "object": route("a", "11")})
    assert cache.get("HTTPRoute", "default", "a") is None
    assert inf.resource_version == "11"


def test_expired_version_in_the_stream_means_relist() -> None:
    inf = informer(ObjectCache(lambda kind, spec: None))
    inf.resource_version = "3"
    gone = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}
    with pytest.raises(WatchGone):
        inf._apply(gone)
    with pytest.raises(ApiError):
        inf._apply({"type": "ERROR", "object": {"kind": "Status", "code": 500, "message": "x"}})


def test_status_only_updates_keep_the_parsed_object() -> None:
    cache = ObjectCache(lambda kind, spec: None)
    cache.upsert("HTTPRoute", route("a", "1"))
    first = cache.parse().snapshot.http_routes[0]
    cache.upsert("HTTPRoute", route("a", "2", status={"parents": []}))
    assert cache.parse().snapshot.http_routes[0] is first  # not validated again
    cache.upsert("HTTPRoute", {**route("a", "3"), "spec": {"parentRefs": [{"name": "other"}]}})
    moved = cache.parse().snapshot.http_routes[0]
    assert moved is not first
    assert moved.spec.parent_refs[0].name == "other"
