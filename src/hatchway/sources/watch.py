"""Watch the `-f` inputs and yield batches of changed files, debounced, soon after a save.

Files are watched through their directory: editors save by writing a temporary file and
renaming it over the original, which a watch on the file itself would lose.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from watchfiles import Change, awatch

from hatchway.sources.files import STDIN, SUFFIXES


def _targets(paths: Sequence[str]) -> tuple[list[Path], set[Path], list[Path], bool]:
    """(directories to watch, input files, input directories, whether to recurse)."""
    watch: list[Path] = []
    files: set[Path] = set()
    dirs: list[Path] = []
    for raw in paths:
        if raw == STDIN:
            continue  # nothing to watch
        p = Path(raw).absolute()
        if p.is_dir():
            dirs.append(p)
            watch.append(p)
            continue
        files.add(p)
        parent = p.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent  # the file's folder may not exist yet
        watch.append(parent)
    return list(dict.fromkeys(watch)), files, dirs, bool(dirs)


async def watch_paths(
    paths: Sequence[str],
    *,
    step_ms: int = 3,
    debounce_ms: int = 400,
    stop_event: asyncio.Event | None = None,
) -> AsyncIterator[frozenset[Path]]:
    """Yield each batch of changed input files.

    A batch is yielded once `step_ms` pass without a further change (a save is usually
    several file-system events, microseconds apart), or at the latest `debounce_ms` after its
    first change. watchfiles wakes every step, also while idle, and yields between one and two
    steps after the last event: the step is the floor of change-to-traffic time. Measured
    idle cost for `serve`: 0.5 % of a core at 10 ms, 0.8 % at 3 ms, which saves ~10 ms per
    change. A write slower than a step (a program writing a file bit by bit) is seen in two
    batches, the first reading part of the file: save by writing a temporary file and
    renaming it, as editors and `kubectl`-style tools do.
    Ends when `stop_event` is set. Yields nothing if there is nothing to watch (stdin only).
    """
    watch, files, dirs, recursive = _targets(paths)
    if not watch:
        return

    def relevant(change: Change, path: str) -> bool:
        p = Path(path)
        if p in files:
            return True
        return p.suffix in SUFFIXES and any(p.is_relative_to(d) for d in dirs)

    async for changes in awatch(
        *watch,
        watch_filter=relevant,
        step=step_ms,
        debounce=debounce_ms,
        stop_event=stop_event,
        recursive=recursive,
        yield_on_timeout=False,
        rust_timeout=1000,
    ):
        yield frozenset(Path(p) for _, p in changes)


Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(paths: Sequence[str]) -> Fingerprint:
    """(file, mtime, size) of every input file: tells whether anything changed between two
    moments without trusting that a watcher was already armed in between."""
    out: list[tuple[str, int, int]] = []
    for raw in paths:
        if raw == STDIN:
            continue
        p = Path(raw)
        found = sorted(f for f in p.rglob("*") if f.suffix in SUFFIXES) if p.is_dir() else [p]
        for f in found:
            try:
                st = f.stat()
            except OSError:
                out.append((str(f), -1, -1))
            else:
                out.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(out)
