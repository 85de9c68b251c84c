"""Shared test options. Golden files are rewritten only with an explicit `--update-golden`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite expected golden files from current output (review the diff!)",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def check_golden(path: Path, actual: str, update: bool) -> None:
    """Compare `actual` with the golden file at `path`, or rewrite it under --update-golden."""
    if update or not path.exists():
        if not update:
            pytest.fail(f"golden file {path} is missing; run pytest --update-golden and review it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        return
    expected = path.read_text()
    assert actual == expected, f"{path} differs; run pytest --update-golden and review the diff"


@dataclass(frozen=True)
class GoldenLayout:
    """What a golden runner reads and writes in each case directory `root/<case>/`: the case
    exists while `input` does; every other file there must be in `optional` or `outputs`."""

    root: Path
    input: str
    outputs: frozenset[str]
    optional: frozenset[str] = frozenset()

    def cases(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if (p / self.input).is_file())

    def stale(self) -> list[str]:
        """Files the runner neither reads nor writes: outputs of a deleted case, outputs it no
        longer writes, anything else left behind."""
        found: list[str] = []
        known = {self.input, *self.optional, *self.outputs}
        for entry in sorted(self.root.iterdir()):
            if not entry.is_dir():
                found.append(f"{entry}: not a case directory")
            elif not (entry / self.input).is_file():
                found.append(f"{entry}: no {self.input}, so its outputs are orphans")
            else:
                found += [
                    f"{f}: not written by the runner"
                    for f in sorted(entry.iterdir())
                    if f.name not in known or not f.is_file()
                ]
        return found
