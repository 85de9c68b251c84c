"""Every file under tests/golden/ is an input of a live case or an output its runner writes:
a deleted case, or an output a runner no longer writes, leaves no orphan behind."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from conftest import GoldenLayout
from test_provision_golden import LAYOUT as PROVISION
from test_translate_golden import LAYOUT as TRANSLATE
from test_xds_golden import LAYOUT as XDS

GOLDEN = Path(__file__).parent / "golden"
LAYOUTS = (TRANSLATE, XDS, PROVISION)


def test_every_golden_directory_has_its_runner() -> None:
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(x.root.name for x in LAYOUTS)


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda x: x.root.name)
def test_no_stale_golden_files(layout: GoldenLayout) -> None:
    stale = layout.stale()
    assert not stale, "stale golden files (delete them, or restore the case):\n" + "\n".join(stale)


def test_orphans_and_unwritten_outputs_are_found(tmp_path: Path) -> None:
    """The check itself: on a copy of the translate layout with one live case, one case whose
    input was deleted, one stale output and a stray file, it names exactly the three."""
    layout = dataclasses.replace(TRANSLATE, root=tmp_path)
    for case, files in {
        "live": ("input.yaml", "settings.yaml", "status.yaml", "ir.yaml"),
        "deleted": ("status.yaml", "ir.yaml"),
        "renamed": ("input.yaml", "status.yaml", "ir.yaml", "warnings.yaml"),
    }.items():
        (tmp_path / case).mkdir()
        for name in files:
            (tmp_path / case / name).write_text("{}\n")
    (tmp_path / "notes.txt").write_text("")
    assert layout.cases() == ["live", "renamed"]
    assert layout.stale() == [
        f"{tmp_path / 'deleted'}: no input.yaml, so its outputs are orphans",
        f"{tmp_path / 'notes.txt'}: not a case directory",
        f"{tmp_path / 'renamed' / 'warnings.yaml'}: not written by the runner",
    ]
