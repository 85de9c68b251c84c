"""Label selectors: what Kubernetes would refuse to turn into a selector (the CRDs allow it)."""

from __future__ import annotations

from typing import Any

import pytest

from hatchway.model.meta import LabelSelector
from hatchway.translate.selectors import selector_matches, selector_problem


def sel(**raw: Any) -> LabelSelector:
    return LabelSelector.model_validate(raw, by_alias=True, by_name=False)


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"matchLabels": {"team": "apps", "app.kubernetes.io/name": "x", "empty": ""}},
        {"matchExpressions": [{"key": "team", "operator": "In", "values": ["a", "b"]}]},
        {"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["a"]}]},
        {"matchExpressions": [{"key": "example.com/team", "operator": "Exists"}]},
        {"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]},
    ],
)
def test_valid_selectors(raw: dict[str, Any]) -> None:
    assert selector_problem(sel(**raw)) is None


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (
            {"matchExpressions": [{"key": "team", "operator": "Equals", "values": ["a"]}]},
            "matchExpressions[0].operator: 'Equals' is not one of In, NotIn, Exists, DoesNotExist",
        ),
        (
            {"matchExpressions": [{"key": "team", "operator": "In"}]},
            "matchExpressions[0].values: must not be empty for operator In",
        ),
        (
            {"matchExpressions": [{"key": "team", "operator": "Exists", "values": ["a"]}]},
            "matchExpressions[0].values: must be empty for operator Exists",
        ),
        (
            {"matchExpressions": [{"key": "-team", "operator": "Exists"}]},
            "matchExpressions[0].key: '-team' is not a valid label key",
        ),
        (
            {"matchExpressions": [{"key": "Bad_Prefix/team", "operator": "Exists"}]},
            "matchExpressions[0].key: 'Bad_Prefix/team' is not a valid label key (its prefix "
            "must be a DNS subdomain)",
        ),
        (
            {"matchExpressions": [{"key": "t", "operator": "In", "values": ["a b"]}]},
            "matchExpressions[0].values: 'a b' is not a valid label value",
        ),
        (
            {"matchLabels": {"t": "x" * 64}},
            f"matchLabels 't': {'x' * 64!r} is not a valid label value",
        ),
        ({"matchLabels": {"": "x"}}, "matchLabels '': '' is not a valid label key"),
    ],
)
def test_invalid_selectors(raw: dict[str, Any], problem: str) -> None:
    assert selector_problem(sel(**raw)) == problem


def test_nil_selects_nothing_and_empty_selects_everything() -> None:
    assert not selector_matches(None, {"a": "b"})
    assert selector_matches(sel(), {"a": "b"})
