"""Read the live Envoy's own admin API (stats) next to a `hatchway serve` under test.

The serve process keeps Envoy's admin address in a file named on Envoy's command line
(`--admin-address-path`); we find it through /proc, so no new flag is needed.
"""

from __future__ import annotations

from pathlib import Path

from e2e.harness import Hatchway, http_request


def envoy_admin_port(hw: Hatchway) -> int:
    pid = hw.envoy_pid()
    assert pid is not None, "no Envoy child"
    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    path = Path(args[args.index("--admin-address-path") + 1])
    return int(path.read_text().strip().rsplit(":", 1)[1])


def envoy_stats(hw: Hatchway, prefix: str = "") -> dict[str, int]:
    """Counters and gauges (not histograms) whose names start with `prefix`."""
    r = http_request(envoy_admin_port(hw), "/stats?usedonly")
    out: dict[str, int] = {}
    for line in r.body.decode().splitlines():
        name, _, value = line.partition(": ")
        if name.startswith(prefix) and value.strip().lstrip("-").isdigit():
            out[name] = int(value)
    return out
