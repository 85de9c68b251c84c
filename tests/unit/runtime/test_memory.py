"""Envoy's default heap budget follows the memory limit the process runs under; the control
plane's own heap gives freed memory back."""

from __future__ import annotations

import gc
import os
from pathlib import Path

from hatchway.runtime.memory import memory_limit, release_free_memory

PHYSICAL = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def test_the_cgroup_limit_wins_when_it_is_lower(tmp_path: Path) -> None:
    v2, v1 = tmp_path / "memory.max", tmp_path / "limit_in_bytes"
    v2.write_text("536870912\n")
    assert memory_limit((v2, v1)) == 512 << 20
    v2.write_text("max\n")  # no limit at this level: v1 is not consulted either
    v1.write_text("1048576\n")
    assert memory_limit((v2, v1)) == PHYSICAL
    v2.unlink()
    assert memory_limit((v2, v1)) == 1 << 20
    v1.write_text("9223372036854771712\n")  # cgroup v1 "unlimited"
    assert memory_limit((v2, v1)) == PHYSICAL
    assert memory_limit((tmp_path / "none",)) == PHYSICAL


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_freed_heap_pages_go_back_to_the_kernel() -> None:
    """A build's transient peak: many malloc'd blocks, most freed but with survivors spread
    over the heap (so glibc cannot shrink it from the top alone). Trimming returns the
    free pages: RSS drops by most of what was freed."""
    gc.collect()
    blocks = [bytes(4096) for _ in range(40_000)]  # ~160 MiB through malloc (> 512 bytes)
    survivors = blocks[::64]
    del blocks
    before = _rss_mib()
    assert release_free_memory()
    after = _rss_mib()
    assert before - after > 80, (before, after)
    assert len(survivors) == 625
