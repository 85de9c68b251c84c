"""FileSource emulates the API server's bookkeeping across loads under `serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchway.runtime.inputs import FileSource

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
