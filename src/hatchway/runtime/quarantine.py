"""Routes Envoy rejected, kept out of the configuration until they change.

Envoy rejects a whole RouteConfiguration for one bad route (e.g. a regex over RE2's program
size limit), and every later generation that still holds that route is rejected too: one
object would freeze all updates on its port. When a rejection can be pinned on particular
routes — Envoy quotes the offending value and only their part of the resource contains it,
or else bisecting the rejected resource with Envoy's validate mode finds them
(`runtime.culprit`) — those routes are quarantined: the next translation serves their last
version Envoy accepted, or else refuses them (Accepted=False/UnsupportedValue with Envoy's
message, nothing served), and `/errors` says which. A route leaves quarantine as soon as its
spec changes (the new version gets its chance).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from hatchway.ads.verdict import Rejection
from hatchway.ir import Origin
from hatchway.model.documents import InputError
from hatchway.model.refs import ObjectRef, ref_of
from hatchway.model.snapshot import Snapshot
from hatchway.xds import ROUTE, XdsResources
from hatchway.xds.telemetry import owner_of

_ROUTE_FIELDS = ("http_routes", "grpc_routes", "tls_routes", "tcp_routes", "udp_routes")
# Envoy quotes the value it refused: `regex '...' RE2 program size of 166 > ...`.
_QUOTED = re.compile(r"'([^']{2,})'")


@dataclass(frozen=True)
class Quarantined:
    spec: Any  # the rejected version's spec: a different spec is a new chance
    message: str


def culprits(rej: Rejection, resources: XdsResources) -> list[Origin]:
    """The routes a rejected RouteConfiguration can be pinned on (none if unsure)."""
    if rej.type_url != ROUTE or rej.name not in resources.routes:
        return []
    quoted = [q.encode() for q in _QUOTED.findall(rej.message) if q != rej.name]
    if not quoted:
        return []
    found: dict[Origin, None] = {}
    for vh in resources.routes[rej.name].virtual_hosts:
        for r in vh.routes:
            owner = owner_of(r)
            if owner is not None and any(q in r.SerializeToString() for q in quoted):
                found[owner] = None
    return list(found)


def find(snapshot: Snapshot, key: ObjectRef) -> Any | None:
    for f in _ROUTE_FIELDS:
        for obj in getattr(snapshot, f):
            if ref_of(obj) == key:
                return obj
    return None


@dataclass(frozen=True)
class Applied:
    snapshot: Snapshot  # quarantined routes replaced by their last accepted version
    errors: list[InputError]
    active: dict[ObjectRef, Quarantined]  # the entries still in force
    # Quarantined routes with no accepted version: translated as refused (Accepted=False,
    # nothing served), with Envoy's message.
    refused: dict[ObjectRef, str]


def apply(
    snapshot: Snapshot, entries: dict[ObjectRef, Quarantined], accepted: Snapshot | None
) -> Applied:
    """Each quarantined route, unless it changed since: replaced by its version in
    `accepted` (the last snapshot Envoy accepted), or else refused."""
    if not entries:
        return Applied(snapshot, [], entries, {})
    active: dict[ObjectRef, Quarantined] = {}
    refused: dict[ObjectRef, str] = {}
    errors: list[InputError] = []
    changes: dict[str, Any] = {}  # Snapshot fields of routes -> their new tuples
    for f in _ROUTE_FIELDS:
        objects: tuple[Any, ...] = getattr(snapshot, f)
        out: list[Any] = []
        touched = False
        for obj in objects:
            key = ref_of(obj)
            entry = entries.get(key)
            if entry is None or obj.spec != entry.spec:
                out.append(obj)  # not quarantined, or changed since: a new chance
                continue
            active[key] = entry
            touched = True
            previous = find(accepted, key) if accepted is not None else None
            if previous is not None and previous.spec != entry.spec:
                out.append(previous)
                fate = "its previous version keeps serving"
            else:
                out.append(obj)
                refused[key] = entry.message
                fate = "it is not served until it changes (status: Accepted=False)"
            kind, ns, name = key
            errors.append(
                InputError(None, None, kind, ns or None, name, None, f"{entry.message}; {fate}")
            )
        if touched:
            changes[f] = tuple(out)
    return Applied(dataclasses.replace(snapshot, **changes), errors, active, refused)
