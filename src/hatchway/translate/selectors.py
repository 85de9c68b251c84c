"""Kubernetes label selectors (matchLabels + matchExpressions) over Namespace labels."""

from __future__ import annotations

import re
from collections.abc import Mapping

from hatchway.model.meta import LabelSelector

# Label syntax (k8s.io/apimachinery validation): a name of at most 63 characters, optionally
# prefixed by a DNS subdomain and "/"; a value is empty or a name.
_NAME = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def selector_matches(selector: LabelSelector | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes semantics: all requirements ANDed; a nil selector selects nothing."""
    if selector is None:
        return False
    for key, value in selector.match_labels.items():
        if labels.get(key) != value:
            return False
    for req in selector.match_expressions:
        present = req.key in labels
        if req.operator == "In":
            ok = present and labels[req.key] in req.values
        elif req.operator == "NotIn":
            ok = not present or labels[req.key] not in req.values
        elif req.operator == "Exists":
            ok = present
        elif req.operator == "DoesNotExist":
            ok = not present
        else:  # an unknown operator can never be satisfied
            ok = False
        if not ok:
            return False
    return True


def selector_problem(selector: LabelSelector) -> str | None:
    """Why Kubernetes would not turn `selector` into a selector (what
    metav1.LabelSelectorAsSelector refuses), or None. The CRDs leave these to the controller."""
    for key, value in selector.match_labels.items():
        problem = _key_problem(key) or _value_problem(value)
        if problem is not None:
            return f"matchLabels {key!r}: {problem}"
    for i, req in enumerate(selector.match_expressions):
        where = f"matchExpressions[{i}]"
        if (problem := _key_problem(req.key)) is not None:
            return f"{where}.key: {problem}"
        if req.operator not in _OPERATORS:
            return f"{where}.operator: {req.operator!r} is not one of {', '.join(_OPERATORS)}"
        if req.operator in ("In", "NotIn") and not req.values:
            return f"{where}.values: must not be empty for operator {req.operator}"
        if req.operator in ("Exists", "DoesNotExist") and req.values:
            return f"{where}.values: must be empty for operator {req.operator}"
        for v in req.values:
            if (problem := _value_problem(v)) is not None:
                return f"{where}.values: {problem}"
    return None


def _key_problem(key: str) -> str | None:
    prefix, _, name = key.rpartition("/")
    if "/" in key and (len(prefix) > 253 or not _PREFIX.fullmatch(prefix)):
        return f"{key!r} is not a valid label key (its prefix must be a DNS subdomain)"
    if not name or len(name) > 63 or not _NAME.fullmatch(name):
        return f"{key!r} is not a valid label key"
    return None


def _value_problem(value: str) -> str | None:
    if len(value) > 63 or not _NAME.fullmatch(value):
        return f"{value!r} is not a valid label value"
    return None
