"""Properties of translate: it never raises on validated input, and input order does not matter."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hatchway.render import dump_yaml, ir_to_dicts, report_to_dicts
from hatchway.translate import translate
from snapshots import parse, read_yaml

CASES = Path(__file__).parent / "golden" / "translate"
INPUTS = {p.parent.name: read_yaml(p) for p in sorted(CASES.glob("*/input.yaml"))}
CASE_NAMES = sorted(INPUTS)

# Replacement values for mutated leaves: plausible enough to pass schema validation often.
_VALUES: list[Any] = [
    "",
    "*",
    "*.example.com",
    "a.example.com",
    "HTTP",
    "HTTPS",
    "TLS",
    "TCP",
    "UDP",
    "gw",
    "v1",
    "v2",
    "infra",
    "apps",
    "default",
    "Exact",
    "PathPrefix",
    "RegularExpression",
    "/",
    "/a",
    "(a)\\1",
    "[",
    0,
    1,
    80,
    443,
    8080,
    65535,
    True,
    None,
    [],
    {},
]


def _render(docs: list[dict[str, Any]]) -> str:
    out = translate(parse(docs, "input.yaml").snapshot)
    return dump_yaml(report_to_dicts(out.report)) + dump_yaml(ir_to_dicts(out.ir))


def _with_timestamps(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pin every missing creationTimestamp to the input position, so shuffling keeps ages."""
    out = copy.deepcopy(docs)
    base = datetime(2001, 1, 1, tzinfo=UTC)
    for i, doc in enumerate(out):
        meta = doc.setdefault("metadata", {})
        meta.setdefault("creationTimestamp", (base + timedelta(seconds=i)).isoformat())
    return out


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*path, k))
            out.extend(_leaves(v, (*path, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((*path, i))
            out.extend(_leaves(v, (*path, i)))
    return out


def _mutate(docs: list[dict[str, Any]], rng: random.Random, count: int) -> list[dict[str, Any]]:
    docs = copy.deepcopy(docs)
    for _ in range(count):
        if not docs:
            break
        doc = rng.choice(docs)
        paths = [p for p in _leaves(doc) if p[0] not in ("apiVersion", "kind")]
        if not paths:
            continue
        path = rng.choice(paths)
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = rng.random()
        if action < 0.2 and isinstance(parent, dict):
            del parent[path[-1]]
        elif action < 0.3 and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
        else:
            parent[path[-1]] = rng.choice(_VALUES)
    if docs and rng.random() < 0.3:
        docs.pop(rng.randrange(len(docs)))
    return docs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASE_NAMES), seed=st.integers(0, 2**32 - 1), count=st.integers(1, 6))
def test_mutated_inputs_never_make_translate_raise(case: str, seed: int, count: int) -> None:
    docs = _mutate(INPUTS[case], random.Random(seed), count)
    rendered = _render(docs)  # must not raise
    # Per-object guards turn crashes into warnings; a property run must not rely on them.
    assert "internal error" not in rendered


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASE_NAMES), seed=st.integers(0, 2**32 - 1))
def test_input_order_does_not_change_output(case: str, seed: int) -> None:
    docs = _with_timestamps(INPUTS[case])
    shuffled = list(docs)
    random.Random(seed).shuffle(shuffled)
    assert _render(shuffled) == _render(docs)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_translation_is_deterministic(case: str) -> None:
    docs = INPUTS[case]
    assert _render(docs) == _render(docs)
