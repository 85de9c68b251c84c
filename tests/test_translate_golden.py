"""Golden cases: tests/golden/translate/<case>/input.yaml -> status.yaml + ir.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import check_golden
from hatchway.model.parse import Document, parse_documents
from hatchway.render import dump_yaml, ir_to_dicts, report_to_dicts
from hatchway.translate import translate

CASES = Path(__file__).parent / "golden" / "translate"


def load(path: Path) -> object:
    docs = [
        Document(str(path.name), i, body)
        for i, body in enumerate(yaml.safe_load_all(path.read_text()))
        if body is not None
    ]
    result = parse_documents(docs)
    assert not result.errors, [e.to_dict() for e in result.errors]
    return result.snapshot


@pytest.mark.parametrize(
    "case", sorted(p.name for p in CASES.iterdir() if (p / "input.yaml").exists())
)
def test_golden(case: str, update_golden: bool) -> None:
    snapshot = load(CASES / case / "input.yaml")
    out = translate(snapshot)  # type: ignore[arg-type]
    check_golden(
        CASES / case / "status.yaml", dump_yaml(report_to_dicts(out.report)), update_golden
    )
    check_golden(CASES / case / "ir.yaml", dump_yaml(ir_to_dicts(out.ir)), update_golden)
