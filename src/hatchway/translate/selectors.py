"""Kubernetes label selectors (matchLabels + matchExpressions) over Namespace labels."""

from __future__ import annotations

from collections.abc import Mapping

from hatchway.model.meta import LabelSelector


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
