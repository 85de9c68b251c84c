"""FileSource emulates the API server's bookkeeping across loads under `serve`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hatchway.sources.file_source import FileSource

ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}}}
spec:
  parentRefs: [{{name: gw}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: {path}}}}}]
"""


def write(path: Path, name: str, prefix: str = "/") -> None:
    path.write_text(ROUTE.format(name=name, path=prefix))


def load(src: FileSource) -> dict[str, Any]:
    loaded = src.load()
    src.commit(loaded)  # as the runtime does once it published the load
    return {r.metadata.name: r.metadata for r in loaded.snapshot.http_routes}


def test_new_object_is_younger_and_existing_ones_keep_their_age(tmp_path: Path) -> None:
    write(tmp_path / "m.yaml", "m")
    write(tmp_path / "n.yaml", "n")
    src = FileSource([str(tmp_path)])
    before = load(src)
    assert before["m"].creation_timestamp < before["n"].creation_timestamp  # input order
    write(tmp_path / "a.yaml", "a")  # sorts first, but appears last
    after = load(src)
    assert after["m"].creation_timestamp == before["m"].creation_timestamp
    assert after["n"].creation_timestamp == before["n"].creation_timestamp
    assert after["a"].creation_timestamp > after["n"].creation_timestamp


def test_generation_bumps_only_on_spec_change(tmp_path: Path) -> None:
    write(tmp_path / "r.yaml", "r", "/a")
    src = FileSource([str(tmp_path)])
    assert load(src)["r"].generation == 1
    (tmp_path / "r.yaml").write_text(
        ROUTE.format(name="r", path="/a") + "  # a comment changes nothing\n"
    )
    assert load(src)["r"].generation == 1
    write(tmp_path / "r.yaml", "r", "/b")
    assert load(src)["r"].generation == 2


def test_unpublished_load_is_not_remembered(tmp_path: Path) -> None:
    write(tmp_path / "r.yaml", "r", "/a")
    src = FileSource([str(tmp_path)])
    load(src)
    write(tmp_path / "r.yaml", "r", "/b")
    src.load()  # e.g. rejected: never committed
    write(tmp_path / "r.yaml", "r", "/c")
    assert load(src)["r"].generation == 2


def routes_of(src: FileSource, commit: bool = True) -> dict[str, Any]:
    loaded = src.load()
    if commit:
        src.commit(loaded)
    return {r.metadata.name: r for r in loaded.snapshot.http_routes}


def write_many(path: Path, names: dict[str, str]) -> None:
    path.write_text("---\n".join(ROUTE.format(name=n, path=p) for n, p in names.items()))


def test_unchanged_files_hand_out_the_same_objects(tmp_path: Path) -> None:
    write_many(tmp_path / "a.yaml", {"a1": "/a1", "a2": "/a2"})
    write_many(tmp_path / "b.yaml", {"b1": "/b1", "b2": "/b2"})
    src = FileSource([str(tmp_path)])
    first = routes_of(src)
    write_many(tmp_path / "a.yaml", {"a1": "/changed", "a2": "/a2"})
    second = routes_of(src)
    assert second["a1"].metadata.generation == 2 and second["a1"] is not first["a1"]
    assert second["a2"] is first["a2"]  # unchanged document of a changed file
    assert second["b1"] is first["b1"] and second["b2"] is first["b2"]
    for i in range(3):  # loads that touch other files, and one that touches nothing
        if i < 2:
            write(tmp_path / f"new{i}.yaml", f"new{i}")
        again = routes_of(src)
        # Including the copy that carries the bumped generation: translation memoizes by
        # identity, so a copy per load would redo its work.
        assert all(again[name] is second[name] for name in second)
        assert again["a1"].metadata.generation == 2


def test_duplicate_against_an_unchanged_file_is_reported_and_first_wins(tmp_path: Path) -> None:
    write_many(tmp_path / "b.yaml", {"b1": "/b1", "dup": "/from-b", "b3": "/b3"})
    src = FileSource([str(tmp_path)])
    first = routes_of(src)
    write_many(tmp_path / "c.yaml", {"dup": "/from-c"})  # after b.yaml in load order
    loaded = src.load()
    src.commit(loaded)
    got = {r.metadata.name: r for r in loaded.snapshot.http_routes}
    assert got["dup"] is first["dup"]
    (err,) = loaded.errors
    assert (err.file, err.kind, err.name) == (str(tmp_path / "c.yaml"), "HTTPRoute", "dup")
    assert f"{tmp_path / 'b.yaml'} document 1" in err.message
    write_many(tmp_path / "a.yaml", {"dup": "/from-a"})  # before b.yaml: now it wins
    loaded = src.load()
    got = {r.metadata.name: r for r in loaded.snapshot.http_routes}
    assert got["dup"].spec.rules[0].matches[0].path.value == "/from-a"
    assert sorted(got) == ["b1", "b3", "dup"]
    assert got["b1"] is first["b1"] and got["b3"] is first["b3"]
    assert sorted((e.file, e.document) for e in loaded.errors) == [
        (str(tmp_path / "b.yaml"), 1),
        (str(tmp_path / "c.yaml"), 0),
    ]
    assert all(f"{tmp_path / 'a.yaml'} document 0" in e.message for e in loaded.errors)
    # And once a.yaml goes away, b.yaml's version (never changed) is back.
    (tmp_path / "a.yaml").unlink()
    assert routes_of(src)["dup"].spec.rules[0].matches[0].path.value == "/from-b"


def test_unpublished_new_file_is_stamped_again_when_it_moves(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "a")
    src = FileSource([str(tmp_path)])
    routes_of(src)
    write(tmp_path / "n.yaml", "n")
    routes_of(src, commit=False)  # n.yaml's object got a stamp that was never published
    write(tmp_path / "m.yaml", "m")  # sorts before n.yaml: n.yaml moves one position on
    got = routes_of(src)
    ts = {name: r.metadata.creation_timestamp for name, r in got.items()}
    assert ts["a"] < ts["m"] < ts["n"]  # new objects: younger than live ones, in input order
    again = routes_of(src)
    assert all(again[name] is got[name] for name in got)


def test_stated_timestamp_and_generation_in_a_changed_file(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "a")
    write(tmp_path / "b.yaml", "b")
    src = FileSource([str(tmp_path)])
    first = routes_of(src)
    stated = ROUTE.format(name="b", path="/").replace(
        "metadata: {name: b}",
        "metadata: {name: b, creationTimestamp: '2020-01-01T00:00:00Z', generation: 5}",
    )
    (tmp_path / "b.yaml").write_text(stated)
    second = routes_of(src)
    assert second["b"].metadata.creation_timestamp.year == 2020
    assert second["b"].metadata.generation == 5
    assert second["a"] is first["a"]
    assert second["a"].metadata.creation_timestamp == first["a"].metadata.creation_timestamp
    write(tmp_path / "b.yaml", "b", "/other")  # spec change, no stated generation
    third = routes_of(src)
    assert third["b"].metadata.generation == 6
    assert third["b"].metadata.creation_timestamp == first["b"].metadata.creation_timestamp


def test_each_load_says_when_it_was_read(tmp_path: Path) -> None:
    """The edge stamps the time it read the files (the core has no clock): what certificate
    expiry is judged against."""
    write(tmp_path / "r.yaml", "r")
    src = FileSource([str(tmp_path)])
    before = datetime.now(UTC)
    first = src.load()
    src.commit(first)
    second = src.load()
    after = datetime.now(UTC)
    assert first.snapshot.observed_at is not None and second.snapshot.observed_at is not None
    assert before <= first.snapshot.observed_at <= second.snapshot.observed_at <= after
