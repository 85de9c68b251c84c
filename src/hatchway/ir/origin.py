"""Where a piece of IR came from, so errors, NACKs and `explain` can name the Gateway API object."""

from __future__ import annotations

from dataclasses import dataclass, field

from hatchway.ir.frozen import quick_init

# The kinds an origin has when it is a route (what logs, metrics and NACKs name as `route`).
ROUTE_KINDS = frozenset({"HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"})


@quick_init
@dataclass(frozen=True, order=True, slots=True)
class Origin:
    """A Gateway API object, optionally narrowed to a listener (section) or a rule/match."""

    kind: str
    namespace: str
    name: str
    section: str | None = None  # listener name for Gateway/ListenerSet origins
    rule: int | None = None  # rule index for route origins
    match: int | None = None  # match index inside the rule
    rule_name: str | None = None  # the rule's `name`, when set
    # Origins key many dicts (per route, per cluster user, per xDS resource) on every
    # rebuild: the hash is computed once, not from seven fields on each lookup.
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fields = (
            self.kind,
            self.namespace,
            self.name,
            self.section,
            self.rule,
            self.match,
            self.rule_name,
        )
        object.__setattr__(self, "_hash", hash(fields))

    def __hash__(self) -> int:
        return self._hash

    def ref(self) -> str:
        """`Kind/ns/name[/section][ rule N match M]`, as used in logs and explain output."""
        s = f"{self.kind}/{self.namespace}/{self.name}"
        if self.section is not None:
            s += f"/{self.section}"
        if self.rule is not None:
            s += f" rule {self.rule}"
            if self.rule_name:
                s += f" ({self.rule_name})"
            if self.match is not None:
                s += f" match {self.match}"
        return s
