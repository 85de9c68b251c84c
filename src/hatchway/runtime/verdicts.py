"""The data planes' answers in the terms of the objects they came from: the typed verdict
`status.verdict` applies to the report, and the objects a rejection is blamed on (for
`/readyz` and the log)."""

from __future__ import annotations

from collections.abc import Mapping

from hatchway.ads.tenants import SHARED, Tenant
from hatchway.ads.verdict import AckState, Outcome, Rejection, describe
from hatchway.ir import Origin
from hatchway.model.refs import ObjectRef
from hatchway.model.snapshot import Snapshot
from hatchway.status.verdict import Rejected, Verdict

Origins = Mapping[tuple[str, str], tuple[Origin, ...]]


def blamed_objects(rej: Rejection, origins: Origins) -> list[str]:
    """The Gateway API objects behind a rejected resource, as `Kind/ns/name` refs."""
    seen: list[str] = []
    for o in origins.get((rej.type_url, rej.name), ()):
        ref = f"{o.kind}/{o.namespace}/{o.name}"
        if ref not in seen:
            seen.append(ref)
    return seen


def verdict_of(outcome: Outcome, origins: Origins, served: frozenset[ObjectRef] | None) -> Verdict:
    """`outcome` of the data plane serving `served` (None: all), as status sees it."""
    if outcome.state is AckState.ACKED:
        return Verdict()
    if outcome.state is AckState.PENDING:
        return Verdict(pending=outcome.reason, served=served)
    rejected = tuple(
        Rejected(describe(rej), origins.get((rej.type_url, rej.name), ()))
        for rej in outcome.rejected
    )
    return Verdict(rejected=rejected, served=served)


def served_by(tenant: Tenant, model: Snapshot) -> frozenset[ObjectRef] | None:
    """The Gateway and ListenerSets the data plane of `tenant` serves (None: the shared one
    serves them all)."""
    if tenant == SHARED:
        return None
    namespace, _, name = tenant.partition("/")
    sets = (
        ("ListenerSet", s.metadata.namespace, s.metadata.name)
        for s in model.listener_sets
        if s.spec.parent_ref.name == name
        and (s.spec.parent_ref.namespace or s.metadata.namespace) == namespace
    )
    return frozenset((("Gateway", namespace, name), *sets))
