"""Fixtures: echo backends (in-process, background thread) and `hatchway serve` subprocesses."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from e2e.echo import EchoPool
from e2e.harness import Hatchway


@pytest.fixture(scope="session")
def echo_pool() -> Iterator[EchoPool]:
    pool = EchoPool()
    yield pool
    pool.close()


@pytest.fixture
def hatchway_factory(tmp_path: Path) -> Iterator[Callable[..., Hatchway]]:
    """Start `hatchway serve` on a config dir; every instance is stopped after the test."""
    started: list[Hatchway] = []

    def make(
        config_dir: Path,
        wait_ready: bool = True,
        extra_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        stdout_path: Path | None = None,
    ) -> Hatchway:
        log = tmp_path / f"hatchway-{len(started)}.log"
        hw = Hatchway(config_dir, log, extra_args, env, stdout_path)
        started.append(hw)
        hw.start(wait_ready=wait_ready)
        return hw

    yield make
    for hw in started:
        if hw.proc is not None and hw.proc.poll() is None:
            # SIGTERM, not SIGKILL: serve removes its state directory (and Envoy's) on the way.
            hw.stop()
