"""The vocabulary of the cross-field checks (`model.rules`, `model.route_rules`): a
violation, the patterns the CRDs' CEL rules and formats use, and list-key helpers."""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(frozen=True)
class Violation:
    field: str
    message: str


Found = Iterator[Violation]

MAX_MATCHES_PER_ROUTE = 128

LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$"
)
PRECISE_HOSTNAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
PATH_CHARS = re.compile(r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$")
GRPC_SERVICE = re.compile(r"^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$", re.IGNORECASE)
GRPC_METHOD = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")


# --- helpers ------------------------------------------------------------------------------------


def duplicates(path: str, keys: Sequence[Hashable], what: str = "Duplicate value") -> Found:
    """List-type map/set semantics: each key at most once (reported at the repeated element)."""
    seen: set[Hashable] = set()
    for i, key in enumerate(keys):
        if key in seen:
            yield Violation(f"{path}[{i}]", f"{what}: {show(key)}")
        seen.add(key)


def show(key: Hashable) -> str:
    return f'"{key}"' if isinstance(key, str) else str(key)


def api_version_of(obj: BaseModel) -> str:
    api_version: str = getattr(obj, "api_version", "")
    return api_version.rsplit("/", 1)[-1]
