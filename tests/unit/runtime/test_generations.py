from __future__ import annotations

from hatchway.model.parse import Document, parse_documents
from hatchway.runtime.generations import GenerationTracker


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
