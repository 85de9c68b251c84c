"""`translate(snapshot) -> Translation(report, ir)`: the pure heart of Hatchway."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any

from hatchway import gcpause
from hatchway.ir import IR, Cluster
from hatchway.model.refs import ObjectRef
from hatchway.model.snapshot import Snapshot
from hatchway.status import ReportWarning, ResourceStatus, RouteConditionReason, StatusReport
from hatchway.status.findings import Finding
from hatchway.translate.assemble import Assembly, assemble
from hatchway.translate.attach import (
    Attachment,
    ParentCtx,
    Parents,
    RouteCtx,
    attach,
    resolve_http_grpc_conflicts,
    route_status,
)
from hatchway.translate.backends import Backends, slice_warnings
from hatchway.translate.btls import Policies
from hatchway.translate.clusters import build_clusters
from hatchway.translate.gateway_status import ListenerOutcome, attached_counts, gateway_statuses
from hatchway.translate.gatewayctx import GatewayCtx, ListenerKey
from hatchway.translate.ignored import ParentCheck, ignored
from hatchway.translate.incremental import FIELDS as DELTA_FIELDS
from hatchway.translate.incremental import DeltaState, translate_delta
from hatchway.translate.index import Index
from hatchway.translate.listeners import build_gateways, certificate_warnings, class_statuses
from hatchway.translate.memo import (
    Attached,
    RouteEntry,
    TranslateMemo,
    attached_of,
    cached_route_status,
)
from hatchway.translate.routectx import AnyRoute, compile_route, route_ctx
from hatchway.translate.rules import (
    CompiledRoute,
    RuleInvalid,
)
from hatchway.translate.settings import Settings, Translation
from hatchway.translate.telemetry import TelemetryPolicies, with_tracing
from hatchway.translate.vhosts import ClusterUse, HttpSocket


def _referenced_services(
    pairs: list[tuple[AnyRoute, RouteCtx]],
) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """Service (namespace, name) -> Gateways of the routes whose backendRefs name it,
    resolvable or not (a BackendTLSPolicy's missing target is reported on those Gateways)."""
    out: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for obj, ctx in pairs:
        gws = {
            (att.listener.gateway.namespace, att.listener.gateway.name)
            for pc in ctx.parents
            if pc.rejected is None
            for att in pc.attachments
        }
        if not gws:
            continue
        for rule in obj.spec.rules:
            for ref in rule.backend_refs:
                if (ref.group, ref.kind) == ("", "Service"):
                    key = (ref.namespace or obj.metadata.namespace, ref.name)
                    out.setdefault(key, set()).update(gws)
    return out


def _gateways(
    index: Index,
    snapshot: Snapshot,
    settings: Settings,
    memo: TranslateMemo,
    *,
    backends: Backends,
    same_backends: bool,
) -> tuple[list[ResourceStatus], list[GatewayCtx], Parents]:
    """GatewayClasses, Gateways and listeners: those of the last translation when built from
    equal objects (and backend inputs: listener filters name Services). Nothing changes them
    once built, so they are reused as they are."""
    reused = memo.reusable_parents(snapshot, settings)
    if not same_backends:
        reused = None
        memo.parents_reused = False
    if reused is not None:
        class_status, gateways, parents = reused
        return class_status, gateways, parents
    classes, class_status = class_statuses(snapshot, settings)
    gateways = build_gateways(index, classes, settings, backends)
    parents = Parents(gateways)
    if memo.incremental:
        memo.keep_parents(snapshot, settings, (class_status, gateways, parents))
    return class_status, gateways, parents


def _key(route: AnyRoute) -> ObjectRef:
    return (route.kind, route.metadata.namespace, route.metadata.name)


def _refused(message: str, compiled: CompiledRoute) -> CompiledRoute:
    """A route the data plane refused: no rule is served, every parent says why (its
    references are still checked as usual)."""
    out = CompiledRoute(unresolved=compiled.unresolved)
    out.dropped.append(
        (0, RouteConditionReason.UNSUPPORTED_VALUE, f"refused by the data plane: {message}")
    )
    return out


def _attach(index: Index, parents: Parents, ctx: RouteCtx) -> bool:
    attach(index, parents, ctx)
    return True


def _reattach(ctx: RouteCtx, attached: Attached) -> None:
    """`attach` again from what it found last time (same route, same Gateways)."""
    for ref, rejected, atts in attached:
        pc = ParentCtx(ref, rejected=rejected)
        pc.attachments = [Attachment(lc, hosts, ctx) for lc, hosts in atts]
        ctx.parents.append(pc)


def _guard(key: ObjectRef, warnings: list[ReportWarning], fn: Callable[[], Any]) -> Any:
    """Run one object's translation; a bug there becomes a warning, not a crash for all.
    (The object's name is spelled only then: this runs twice per route.)"""
    try:
        return fn()
    except (RuleInvalid, ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
        warnings.append(
            ReportWarning(
                "/".join(key), f"internal error, object skipped: {err!r}", Finding.INTERNAL_ERROR
            )
        )
        return None


def translate(
    snapshot: Snapshot, settings: Settings | None = None, memo: TranslateMemo | None = None
) -> Translation:
    """Statuses and IR for `snapshot`. Pass the same `memo` to consecutive calls (a running
    gateway does) to reuse per-route work for the objects that did not change."""
    # Tens of thousands of small acyclic objects: the cyclic GC would run many full passes
    # that find nothing and triple the time (3.0 s -> 1.0 s at 10,000 routes); `gcpause`
    # says what happens to them afterwards.
    with gcpause.paused():
        # Without a memo nothing follows this call: keep nothing for a next one.
        memo = memo if memo is not None else TranslateMemo(incremental=False)
        settings = settings or Settings()
        return _with_findings(_translate(snapshot, settings, memo), snapshot, settings, memo)


def _with_findings(
    result: Translation, snapshot: Snapshot, settings: Settings, memo: TranslateMemo
) -> Translation:
    """The translation plus warnings about what it leaves out: objects nothing serves, and
    endpoints that cannot be used. Outside the memo's bookkeeping, so every path, the
    incremental ones too, gets them; only the HTTPRoutes' are kept between calls."""
    http = _http_route_findings(snapshot, settings, memo)
    found = [
        *ignored(snapshot, settings, result.ir, http_route_findings=http),
        *slice_warnings(snapshot.endpoint_slices),
    ]
    if not found:
        return result
    warnings = tuple(sorted({*result.report.warnings, *found}))
    return Translation(replace(result.report, warnings=warnings), result.ir)


def _http_route_findings(
    snapshot: Snapshot, settings: Settings, memo: TranslateMemo
) -> list[ReportWarning]:
    """Each HTTPRoute's parentRef findings: after a shortcut (nothing they depend on but the
    changed routes changed) only the changed routes are checked, otherwise all of them."""
    if memo.endpoints_only:
        pass  # no route changed
    elif memo.delta_used:
        check = ParentCheck(snapshot, settings.controller_name)
        added, removed = memo.delta_change
        for obj in removed:
            memo.route_findings.pop(_key(obj), None)
        for obj in added:
            if found := check.route(obj):
                memo.route_findings[_key(obj)] = found
    else:
        check = ParentCheck(snapshot, settings.controller_name)
        memo.route_findings = {
            _key(r): found for r in snapshot.http_routes if (found := check.route(r))
        }
    return [w for found in memo.route_findings.values() for w in found]


def _translate(snapshot: Snapshot, settings: Settings, memo: TranslateMemo) -> Translation:
    expiry_moved = _expiry_moved(snapshot, memo)
    memo.endpoints_only = not expiry_moved and memo.only_endpoints_changed(snapshot, settings)
    if memo.endpoints_only:
        return _new_endpoints(snapshot, memo)
    result = None if expiry_moved else translate_delta(snapshot, settings, memo)
    memo.delta_used = result is not None
    if result is None:
        result = _translate_all(snapshot, settings, memo)
    memo.remember(snapshot, settings, result)
    return result


def _expiry_moved(snapshot: Snapshot, memo: TranslateMemo) -> bool:
    """Whether a certificate expired (or became valid) since the last translation: the
    shortcuts reuse its warnings, so the snapshot is then translated in full."""
    if memo.parents is None:
        return False
    gateways: list[GatewayCtx] = memo.parents[1]
    return tuple(certificate_warnings(gateways, snapshot.observed_at)) != memo.expiry_warnings


def _new_endpoints(snapshot: Snapshot, memo: TranslateMemo) -> Translation:
    """The last translation with each cluster's endpoints read again: only EndpointSlices
    changed, and nothing but cluster endpoints reads them (pods come and go all the time)."""
    assert memo.last is not None
    backends = Backends(Index(snapshot), memo.resolved, memo.specs)
    clusters: list[Cluster] = []
    for c in memo.last.ir.clusters:
        endpoints = backends.endpoints(memo.specs[c.name])
        # Unchanged clusters stay the same objects: later steps can tell what changed.
        clusters.append(c if endpoints == c.endpoints else replace(c, endpoints=endpoints))
    ir = IR(listeners=memo.last.ir.listeners, clusters=tuple(clusters))
    result = Translation(memo.last.report, ir)
    memo.last = result
    if memo.delta is not None:
        memo.delta.inputs = tuple(getattr(snapshot, f) for f in DELTA_FIELDS)
        memo.delta.clusters = ir.clusters
    return result


@dataclass
class _Routes:
    """Every route's context after attachment, sorted by kind, namespace and name."""

    ctxs: list[RouteCtx] = field(default_factory=list)
    objs: list[tuple[AnyRoute, RouteCtx]] = field(default_factory=list)
    entries: dict[ObjectRef, RouteEntry] = field(default_factory=dict)  # memo entries
    refused: set[ObjectRef] = field(default_factory=set)  # the data plane's, without entries


def _route_entry(
    key: ObjectRef,
    obj: AnyRoute,
    memo: TranslateMemo,
    backends: Backends,
    warnings: list[ReportWarning],
) -> RouteEntry | None:
    """The route's compiled rules: the memo's while the route is equal, else compiled now."""
    entry = memo.route(key, obj)
    if entry is not None:
        return entry
    compiled = _guard(key, warnings, lambda: compile_route(obj, backends))
    return None if compiled is None else RouteEntry(obj, compiled)


_BY_KEY = attrgetter("kind", "namespace", "name")  # a route's (kind, namespace, name), in C


def _attach_routes(
    snapshot: Snapshot,
    settings: Settings,
    memo: TranslateMemo,
    *,
    index: Index,
    parents: Parents,
    backends: Backends,
    warnings: list[ReportWarning],
) -> _Routes:
    """Compile (or reuse) every route and attach it to its parents, each on its own."""
    out = _Routes()
    refused = settings.refused_routes
    all_routes: list[AnyRoute] = [
        *snapshot.http_routes,
        *snapshot.grpc_routes,
        *snapshot.tls_routes,
        *snapshot.tcp_routes,
        *snapshot.udp_routes,
    ]
    for obj in all_routes:
        key = _key(obj)
        entry = _route_entry(key, obj, memo, backends, warnings)
        if entry is None:
            continue
        out.entries[key] = entry
        if refused and (message := refused.get(key)) is not None:
            ctx = route_ctx(obj, _refused(message, entry.compiled))
            out.refused.add(key)
            _guard(key, warnings, lambda ctx=ctx: _attach(index, parents, ctx))  # type: ignore[misc]
        else:
            ctx = route_ctx(obj, entry.compiled)
            if entry.attach_version == memo.parents_version:
                _reattach(ctx, entry.attached)
            elif (
                _guard(key, warnings, lambda ctx=ctx: _attach(index, parents, ctx))  # type: ignore[misc]
                and memo.incremental
            ):
                entry.attached = attached_of(ctx)
                entry.attach_version = memo.parents_version
        out.ctxs.append(ctx)
        out.objs.append((obj, ctx))
    memo.keep(out.entries)
    out.ctxs.sort(key=_BY_KEY)
    return out


def _route_statuses(
    routes: _Routes, listeners: list[set[ListenerKey]], controller: str, *, keep: bool
) -> list[ResourceStatus]:
    """Each route's status (`listeners`: its accepted listeners, in the order of `ctxs`).
    With `keep` (an incremental memo), status and listeners stay on the route's memo entry
    for the next translation; a one-shot translation keeps nothing."""
    out: list[ResourceStatus] = []
    for route, accepted in zip(routes.ctxs, listeners, strict=True):
        key = route.key
        entry = routes.entries.get(key) if keep else None
        if entry is not None and key not in routes.refused:
            entry.listeners = frozenset(accepted)
            status = cached_route_status(route, entry, controller)
        else:
            status = route_status(route, controller)
        if status is not None:
            out.append(status)
    return out


def _translate_all(snapshot: Snapshot, settings: Settings, memo: TranslateMemo) -> Translation:
    index = Index(snapshot)
    warnings: list[ReportWarning] = []
    # What resolving a backendRef reads (a kubernetes.io/wss port needs a BackendTLSPolicy).
    same_backends = memo.backends_unchanged(
        (*snapshot.services, *snapshot.reference_grants, *snapshot.backend_tls_policies)
    )
    backends = Backends(index, memo.resolved, memo.specs)
    class_status, gateways, parents = _gateways(
        index, snapshot, settings, memo, backends=backends, same_backends=same_backends
    )
    statuses = list(class_status)
    memo.expiry_warnings = tuple(certificate_warnings(gateways, snapshot.observed_at))
    warnings += memo.expiry_warnings
    memo.hits = 0
    routes = _attach_routes(
        snapshot,
        settings,
        memo,
        index=index,
        parents=parents,
        backends=backends,
        warnings=warnings,
    )
    # Conflicts are cross-route: a route-only change on these listeners is translated anew.
    grpc_listeners = {lk for r in routes.ctxs if r.kind == "GRPCRoute" for lk in _all_listeners(r)}
    resolve_http_grpc_conflicts(routes.ctxs)
    accepted = [r.accepted_listeners() for r in routes.ctxs]
    statuses += _route_statuses(routes, accepted, settings.controller_name, keep=memo.incremental)
    attached = attached_counts(accepted)
    assembly = assemble(
        gateways,
        routes.ctxs,
        settings.detect_shadowed,
        keep_parts=memo.incremental,
        per_gateway=settings.per_gateway_sockets,
    )
    # After assembly: it can find unavailable ports.
    statuses += gateway_statuses(gateways, ListenerOutcome(attached, assembly.unavailable))
    warnings += assembly.warnings
    report, ir = _clusters_and_policies(
        index, settings, backends, gateways, assembly, routes, statuses, warnings
    )
    memo.delta = None
    # Policies reach into sockets and clusters a route-only change would not look at again.
    if memo.incremental and not snapshot.backend_tls_policies and not snapshot.telemetry_policies:
        memo.delta = _delta_state(
            snapshot,
            settings,
            index=index,
            backends=backends,
            parents=parents,
            gateways=gateways,
            assembly=assembly,
            report=report,
            ir=ir,
            attached=attached,
        )
        memo.delta.off_limits = frozenset(grpc_listeners | assembly.l4_listeners)
        memo.delta.warnings.update(warnings[: len(warnings) - len(assembly.warnings)])
    return Translation(report, ir)


def _all_listeners(route: RouteCtx) -> set[ListenerKey]:
    return {att.listener.key for pc in route.parents for att in pc.attachments}


def _clusters_and_policies(  # noqa: PLR0917 (one call site, in order of the steps)
    index: Index,
    settings: Settings,
    backends: Backends,
    gateways: list[GatewayCtx],
    assembly: Assembly,
    routes: _Routes,
    statuses: list[ResourceStatus],
    warnings: list[ReportWarning],
) -> tuple[StatusReport, IR]:
    """The clusters the assembly uses, the policies' statuses, and the finished report."""
    policies = Policies(index, settings.cluster_trust_bundles)
    gateway_by_key = {(g.namespace, g.name): g for g in gateways}
    telemetry = TelemetryPolicies(index, set(gateway_by_key), backends)
    for collector, gw in telemetry.collectors():
        assembly.cluster_gateways.setdefault(collector, set()).add(gw)
    clusters, service_gateways = build_clusters(
        index,
        settings,
        backends,
        policies=policies,
        used=assembly.cluster_gateways,
        gateways=gateway_by_key,
    )
    referenced = _referenced_services(routes.objs) if policies.any_target_not_found else None
    statuses = [
        *statuses,
        *policies.statuses(service_gateways, settings.controller_name, referenced),
        *telemetry.statuses(settings.controller_name),
    ]
    report = StatusReport(
        resources=tuple(sorted(statuses, key=lambda s: s.key.order)),
        warnings=tuple(sorted(set(warnings))),
    )
    listeners = with_tracing(assembly.ir.listeners, telemetry)
    return report, IR(listeners=listeners, clusters=tuple(clusters))


def _delta_state(
    snapshot: Snapshot,
    settings: Settings,
    *,
    index: Index,
    backends: Backends,
    parents: Parents,
    gateways: list[GatewayCtx],
    assembly: Assembly,
    report: StatusReport,
    ir: IR,
    attached: dict[ListenerKey, int],
) -> DeltaState:
    """What the next route-only change starts from (see `translate.incremental`)."""
    socket_of: dict[ListenerKey, list[HttpSocket]] = {}
    for hs in assembly.http_sockets.values():
        for lk in hs.listener_keys:
            socket_of.setdefault(lk, []).append(hs)
    uses: Counter[ClusterUse] = Counter()
    warnings: Counter[ReportWarning] = Counter(assembly.port_warnings)
    for parts in assembly.parts.values():
        for _, part in parts:
            uses.update(part.clusters)
            warnings.update(part.warnings)
    for hs in assembly.http_sockets.values():
        for vs in hs.vhosts.values():
            warnings.update(vs.shadowed)
    return DeltaState(
        settings=settings,
        inputs=tuple(getattr(snapshot, f) for f in DELTA_FIELDS),
        routes=snapshot.http_routes,
        index=index,
        backends=backends,
        parents=parents,
        gateways=gateways,
        http_sockets=assembly.http_sockets,
        socket_of=socket_of,
        listener_sockets=assembly.listener_sockets,
        listeners=list(ir.listeners),
        clusters=ir.clusters,
        off_limits=frozenset(),
        parts=assembly.parts,
        uses=uses,
        status_keys=[s.key.order for s in report.resources],
        statuses=list(report.resources),
        attached=Counter(attached),
        unavailable=assembly.unavailable,
        warnings=warnings,
    )
