from __future__ import annotations

from hatchway.model.parse import Document, parse_documents
from hatchway.model.snapshot import Snapshot
from hatchway.sources.generations import GenerationTracker


def _route(path: str, generation: int | None = None) -> Document:
    meta: dict[str, object] = {"name": "r", "namespace": "default"}
    if generation is not None:
        meta["generation"] = generation
    body = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": meta,
        "spec": {"rules": [{"matches": [{"path": {"type": "PathPrefix", "value": path}}]}]},
    }
    return Document("f.yaml", 0, body)


def _gen(tracker: GenerationTracker, doc: Document, commit: bool = True) -> int:
    snap, seen = tracker.apply(parse_documents([doc]).snapshot)
    if commit:
        tracker.commit(seen)
    return int(snap.http_routes[0].metadata.generation)


def test_generation_goes_up_only_when_spec_changes() -> None:
    t = GenerationTracker()
    assert _gen(t, _route("/a")) == 1
    assert _gen(t, _route("/a")) == 1
    assert _gen(t, _route("/b")) == 2
    assert _gen(t, _route("/b")) == 2
    assert _gen(t, _route("/c")) == 3


def test_uncommitted_load_does_not_count_and_given_generation_is_honoured() -> None:
    t = GenerationTracker()
    assert _gen(t, _route("/a", generation=7)) == 7
    assert _gen(t, _route("/b"), commit=False) == 8
    assert _gen(t, _route("/a")) == 7


def test_bumped_object_is_handed_out_as_the_same_copy() -> None:
    t = GenerationTracker()
    _gen(t, _route("/a"))
    changed = parse_documents([_route("/b")]).snapshot
    snap, seen = t.apply(changed)
    t.commit(seen)
    bumped = snap.http_routes[0]
    assert bumped.metadata.generation == 2
    # The same tuple (an unchanged file), and the same objects in a new tuple (e.g. a
    # neighbour in the same kind changed): the very same copy both times.
    for routes in (changed.http_routes, (*changed.http_routes,)):
        again, seen = t.apply(Snapshot(http_routes=routes))
        t.commit(seen)
        assert again.http_routes[0] is bumped


def test_reused_part_follows_the_committed_state() -> None:
    t = GenerationTracker()
    stated = parse_documents([_route("/a", generation=5)]).snapshot
    other = parse_documents([_route("/b")]).snapshot
    _, seen_older = t.apply(stated)
    newer, _ = t.apply(other)  # computed against nothing committed: generation 1
    assert newer.http_routes[0].metadata.generation == 1
    t.commit(seen_older)  # the older load is the one published
    # The same tuple again: its earlier result no longer holds.
    snap, _ = t.apply(other)
    assert snap.http_routes[0].metadata.generation == 6
