"""What one translation hands the next, so a change to one route costs about one route.

A running gateway translates the whole snapshot after every change. Per-route work —
compiling rules, resolving backendRefs, the route's status — depends only on the route and
on the objects named below, so it is kept while those are equal. Entries are keyed by the
route's identity in the API (kind, namespace, name) and reused only while the route is equal
in value (`same`): never by Python object identity, so a memo cannot hand back work done for
another object that happens to reuse an address. Everything cross-route (attachment,
conflicts, precedence order, listener counts) is computed every time: the memo never changes
a result, and `tests/unit/test_translate_memo.py` checks that against fresh translations.

Pure: the caller owns the memo and passes it to every `translate` call; one memo serves one
sequence of translations (never two threads at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hatchway.model.refs import ObjectRef
from hatchway.model.snapshot import KIND_FIELDS, Snapshot
from hatchway.status import ReportWarning, ResourceStatus
from hatchway.translate.attach import RouteCtx, route_status
from hatchway.translate.backends import ClusterSpec, Problem, Resolved
from hatchway.translate.gatewayctx import ListenerKey
from hatchway.translate.rules import CompiledRoute
from hatchway.translate.settings import Settings, Translation

# Read only to place endpoints in clusters: a change to nothing else needs no translation.
_ENDPOINT_FIELDS = frozenset({"endpoint_slices", "pods"})  # Pods: XBackend endpoints
_OTHER_FIELDS = tuple(f for f in KIND_FIELDS if f not in _ENDPOINT_FIELDS)

# A route status depends on the route (generation, compiled rules), the controller name and
# each parentRef's outcome: (controller, (parentRef, rejection), ...).
StatusKey = tuple[object, ...]


# Per parentRef: (parentRef, rejection, ((listener, effective hostnames), ...)).
Attached = tuple[tuple[Any, Problem | None, tuple[tuple[Any, tuple[str, ...]], ...]], ...]


def same(a: object, b: object) -> bool:
    """Equal in value. (`is` first only as the cheap case of equality: unchanged inputs are
    usually handed over as the same objects, and comparing them field by field costs.)"""
    return a is b or a == b


def same_all(now: Sequence[object], before: Sequence[object]) -> bool:
    """Two lists of objects equal in value, element by element (`same`)."""
    return len(now) == len(before) and all(map(same, now, before))


@dataclass(eq=False)
class RouteEntry:
    """Kept per route (kind, namespace, name): reused only while the route is `same` as `obj`."""

    obj: object
    compiled: CompiledRoute
    status_key: StatusKey | None = None
    status: ResourceStatus | None = None
    # What `attach` found, valid while `attach_version == TranslateMemo.parents_version`.
    attach_version: int = -1
    attached: Attached = ()
    # The listeners it ended up attached to (after cross-route steps): attachedRoutes.
    listeners: frozenset[ListenerKey] = frozenset()


def attached_of(ctx: RouteCtx) -> Attached:
    """What `attach` found for `ctx`, before cross-route steps change it."""
    return tuple(
        (pc.ref, pc.rejected, tuple((a.listener, a.hostnames) for a in pc.attachments))
        for pc in ctx.parents
    )


def cached_route_status(
    route: RouteCtx, entry: RouteEntry, controller: str
) -> ResourceStatus | None:
    """`route_status`, reused while the route and what its parents concluded are unchanged."""
    key = (controller, *((pc.ref, pc.rejected) for pc in route.parents))
    if entry.status_key != key:
        entry.status = route_status(route, controller)
        entry.status_key = key
    return entry.status


# What Gateways and their listeners are built from (and attachment reads).
_PARENT_FIELDS = (
    "gateway_classes",
    "gateways",
    "listener_sets",
    "namespaces",
    "secrets",
    "config_maps",
    "reference_grants",
    "gateway_parameters",
    "cluster_trust_bundles",  # frontend TLS validation's CA certificates
)


@dataclass(eq=False)
class TranslateMemo:
    # Backend resolution reads Services and ReferenceGrants only (endpoints come later).
    backend_inputs: tuple[object, ...] = ()
    resolved: Resolved = field(default_factory=dict)
    specs: dict[str, ClusterSpec] = field(default_factory=dict)
    routes: dict[ObjectRef, RouteEntry] = field(default_factory=dict)
    hits: int = 0  # routes reused by the last translation (for tests and logs)
    # The last full translation and what it read (every snapshot field but the endpoints).
    last: Translation | None = None
    last_inputs: tuple[tuple[object, ...], ...] = ()
    last_settings: Settings | None = None
    endpoints_only: bool = False  # whether the last call took the endpoints-only path
    # The Gateways (with listeners) of the last translation and what they were built from;
    # `parents_version` changes whenever they are built anew.
    parents: Any = None
    parents_inputs: tuple[tuple[object, ...], ...] = ()
    parents_settings: Settings | None = None
    parents_version: int = 0
    parents_reused: bool = False  # whether the last translation reused them
    # The certificate expiry warnings of the last full translation (judged by the snapshot's
    # `observed_at`): when they would differ, the shortcuts are not taken.
    expiry_warnings: tuple[ReportWarning, ...] = ()
    # What a route-only change starts from (`translate.delta.DeltaState`), None when the
    # last translation left nothing to start from; and whether the last call used it.
    delta: Any = None
    delta_used: bool = False
    # The HTTPRoutes the last delta added and removed (what changed, by value).
    delta_change: tuple[tuple[Any, ...], tuple[Any, ...]] = ((), ())
    # Each HTTPRoute's parentRef findings (`translate.ignored`), for those that have any: the
    # shortcuts change nothing else those depend on, so only the changed routes are checked.
    route_findings: dict[ObjectRef, tuple[ReportWarning, ...]] = field(default_factory=dict)
    # False for a one-shot translation: no state is kept for a next call.
    incremental: bool = True

    def reusable_parents(self, snapshot: Snapshot, settings: Settings) -> Any:
        """The Gateways built last time, if built from equal objects and settings (they are
        not changed after they are built, so one translation's serve the next)."""
        self.parents_reused = (
            self.parents is not None
            and settings == self.parents_settings
            and all(
                same_all(getattr(snapshot, f), before)
                for f, before in zip(_PARENT_FIELDS, self.parents_inputs, strict=True)
            )
        )
        return self.parents if self.parents_reused else None

    def keep_parents(self, snapshot: Snapshot, settings: Settings, parents: Any) -> None:
        self.parents = parents
        self.parents_inputs = tuple(getattr(snapshot, f) for f in _PARENT_FIELDS)
        self.parents_settings = settings
        self.parents_version += 1

    def remember(self, snapshot: Snapshot, settings: Settings, result: Translation) -> None:
        self.last = result
        self.last_inputs = tuple(getattr(snapshot, f) for f in _OTHER_FIELDS)
        self.last_settings = settings

    def only_endpoints_changed(self, snapshot: Snapshot, settings: Settings) -> bool:
        """Whether everything but EndpointSlices equals what the last translation read."""
        if self.last is None or settings != self.last_settings:
            return False
        for f, before in zip(_OTHER_FIELDS, self.last_inputs, strict=True):
            now: tuple[object, ...] = getattr(snapshot, f)
            if not same_all(now, before):
                return False
        return True

    def backends_unchanged(self, inputs: Sequence[object]) -> bool:
        """Whether the backend inputs equal those of the last call; resets if not."""
        unchanged = same_all(inputs, self.backend_inputs)
        if not unchanged:
            self.backend_inputs = tuple(inputs)
            self.resolved = {}
            self.specs = {}
            self.routes = {}
        return unchanged

    def route(self, key: ObjectRef, obj: object) -> RouteEntry | None:
        entry = self.routes.get(key)
        if entry is not None and same(entry.obj, obj):
            self.hits += 1
            return entry
        return None

    def keep(self, entries: dict[ObjectRef, RouteEntry]) -> None:
        """The entries of this translation replace the old ones (removed routes drop out)."""
        self.routes = entries
