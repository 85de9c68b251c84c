"""Envoy's default heap budget follows the memory limit the process runs under."""

from __future__ import annotations

import os
from pathlib import Path

from hatchway.runtime.memory import memory_limit

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
