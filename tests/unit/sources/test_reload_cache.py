"""Under `serve`, a save re-decodes and re-validates only what changed, with identical results."""

from __future__ import annotations

import os
from pathlib import Path

from hatchway.model.parse import ParseMemo
from hatchway.sources.files import DecodeCache, load_paths

ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}}}
spec:
  parentRefs: [{{name: gw}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: {path}}}}}]
"""


def write(path: Path, name: str, prefix: str) -> None:
    path.write_text(ROUTE.format(name=name, path=prefix))


def routes(result: object) -> dict[str, object]:
    return {r.metadata.name: r for r in result.snapshot.http_routes}  # type: ignore[attr-defined]


def test_unchanged_files_are_reused_changed_ones_reloaded(tmp_path: Path) -> None:
    for i in range(3):
        write(tmp_path / f"r{i}.yaml", f"r{i}", f"/p{i}")
    cache, memo = DecodeCache(), ParseMemo()
    first = routes(load_paths([str(tmp_path)], cache=cache, memo=memo))
    write(tmp_path / "r1.yaml", "r1", "/changed")
    # Make sure the stamp changes even on a coarse-mtime file system.
    os.utime(tmp_path / "r1.yaml", ns=(1, 10**18))
    second = routes(load_paths([str(tmp_path)], cache=cache, memo=memo))
    assert second["r0"] is first["r0"] and second["r2"] is first["r2"]
    assert second["r1"] is not first["r1"]
    assert second["r1"].spec.rules[0].matches[0].path.value == "/changed"  # type: ignore[attr-defined]
    # The cached result equals a cold load, object for object.
    assert routes(load_paths([str(tmp_path)])) == second


def test_position_shift_recomputes_default_timestamps(tmp_path: Path) -> None:
    write(tmp_path / "b.yaml", "b", "/b")
    cache, memo = DecodeCache(), ParseMemo()
    before = routes(load_paths([str(tmp_path)], cache=cache, memo=memo))
    write(tmp_path / "a.yaml", "a", "/a")  # sorts first: b moves to position 1
    after = routes(load_paths([str(tmp_path)], cache=cache, memo=memo))
    ts = lambda r: r.metadata.creation_timestamp  # noqa: E731
    assert ts(after["b"]) > ts(before["b"])
    assert ts(after["a"]) == ts(before["b"])
    assert routes(load_paths([str(tmp_path)])) == after


def test_deleted_file_is_forgotten(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "a", "/a")
    write(tmp_path / "b.yaml", "b", "/b")
    cache, memo = DecodeCache(), ParseMemo()
    load_paths([str(tmp_path)], cache=cache, memo=memo)
    (tmp_path / "b.yaml").unlink()
    assert set(routes(load_paths([str(tmp_path)], cache=cache, memo=memo))) == {"a"}
    assert list(cache.entries) == [str(tmp_path / "a.yaml")]
