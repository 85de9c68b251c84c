"""ReferenceGrant checks (GEP-709), indexed by the target namespace."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from hatchway.model.policy import ReferenceGrant


class Grants:
    def __init__(self, grants: Iterable[ReferenceGrant]) -> None:
        self._by_ns: dict[str, list[ReferenceGrant]] = defaultdict(list)
        for g in grants:
            self._by_ns[g.metadata.namespace].append(g)

    def permitted(self, source: tuple[str, str, str], target: tuple[str, str, str, str]) -> bool:
        """Whether `(group, kind, namespace)` may refer to `(group, kind, namespace, name)`.

        Same-namespace references are always allowed; others need a grant in the target's ns.
        """
        from_group, from_kind, from_namespace = source
        to_group, to_kind, to_namespace, to_name = target
        if from_namespace == to_namespace:
            return True
        for grant in self._by_ns.get(to_namespace, ()):
            if not any(
                f.group == from_group and f.kind == from_kind and f.namespace == from_namespace
                for f in grant.spec.from_
            ):
                continue
            if any(
                t.group == to_group and t.kind == to_kind and t.name in (None, to_name)
                for t in grant.spec.to
            ):
                return True
        return False
