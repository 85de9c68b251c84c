"""File watching: a save (atomic rename, as editors do) is reported promptly; other files not."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from hatchway.sources.watch import watch_paths


async def _first_batch(paths: list[str], act: Path, other: Path) -> tuple[frozenset[Path], float]:
    stop = asyncio.Event()
    it = watch_paths(paths, stop_event=stop)
    task = asyncio.ensure_future(it.__anext__())
    await asyncio.sleep(0.3)  # let the watcher start
    other.write_text("ignored")
    t0 = time.monotonic()
    tmp = act.with_name(".tmp-save")
    tmp.write_text("kind: Gateway\n")
    tmp.rename(act)
    batch = await asyncio.wait_for(task, 5)
    elapsed = time.monotonic() - t0
    stop.set()
    await it.aclose()
    return batch, elapsed


def test_file_save_reported_quickly(tmp_path: Path) -> None:
    target = tmp_path / "gw.yaml"
    target.write_text("")
    batch, elapsed = asyncio.run(_first_batch([str(target)], target, tmp_path / "notes.txt"))
    assert target in batch
    assert tmp_path / "notes.txt" not in batch
    assert elapsed < 1.0


def test_directory_watch_filters_by_suffix(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    target = sub / "route.yml"
    batch, _ = asyncio.run(_first_batch([str(tmp_path)], target, sub / "readme.md"))
    assert batch == frozenset({target})
