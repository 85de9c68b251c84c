"""Cross-field validation the CRDs express in CEL (x-kubernetes-validations).

Each check returns `Violation`s with the field path in the user's camelCase spelling, as the
API server reports them. The model has its CRD defaults applied, as the API server applies
defaults before it evaluates CEL.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(frozen=True)
class Violation:
    field: str
    message: str


def check(obj: BaseModel) -> list[Violation]:
    """All CEL-rule violations of one validated object (empty when valid)."""
    return []
