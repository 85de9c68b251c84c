"""How much memory this process may use, and the heap budget Envoy gets from it.

Envoy's overload manager acts on its heap as a fraction of a fixed budget (`xds.bootstrap`
HEAP_ACTIONS). Without `--max-heap`, the budget is three quarters of what the process may use:
its cgroup's memory limit (a container's, in Kubernetes) or else the machine's memory. The
last quarter is the control plane's (it shares the limit with Envoy), so the overload
actions fire before the kernel's OOM killer would end the whole gateway.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

_CGROUP_LIMITS = (
    Path("/sys/fs/cgroup/memory.max"),  # cgroup v2: a number of bytes, or "max"
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),  # v1: a huge number when unlimited
)
ENVOY_SHARE = 0.75


def memory_limit(limits: tuple[Path, ...] = _CGROUP_LIMITS) -> int:
    """The smaller of the machine's memory and the first cgroup limit found (bytes)."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in limits:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            return min(int(text), physical)
        return physical  # "max": no limit at this level
    return physical


def default_max_heap() -> int:
    return int(memory_limit() * ENVOY_SHARE)


# glibc's malloc keeps what is freed in its heap: a rebuild's transient peak (protobuf,
# pydantic-core and gRPC allocate with malloc) would otherwise stay resident.


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


def release_free_memory() -> bool:
    """Give the heap's free pages back to the kernel (glibc `malloc_trim`): after a rebuild's
    transient peak, RSS returns to what is live. Whether anything was released (False where
    the C library is not glibc)."""
    libc = _glibc()
    return libc is not None and bool(libc.malloc_trim(0))
