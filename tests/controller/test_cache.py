"""The informer cache without a cluster: a relist replaces a kind (deletes missed during a watch
gap disappear), and status-only updates do not ask for a rebuild."""

from __future__ import annotations

from typing import Any

from hatchway.sources.kube import ObjectCache


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
