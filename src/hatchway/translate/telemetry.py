"""XTelemetryPolicy (GEP-4768): which Gateways trace where, and the policies' status.

A Direct policy on Gateways. One policy applies per Gateway: the oldest (then the first by
namespace/name); the others get `Accepted=False, Conflicted` on that Gateway. A targetRef
that names no Gateway of ours gets `Accepted=False, TargetNotFound`. The provider's
backendRef is resolved like a route's (a Service port; another namespace needs a
ReferenceGrant from XTelemetryPolicy), and spoken to with gRPC (OTLP), so as h2c.

Attributes of sourceType `Attribute` name keys of the Gateway API attribute dictionary
(GEP-5253); a key Hatchway cannot fill is left out and named in the Accepted message.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hatchway.ir import AppProtocol, Listener, Origin, Protocol, SpanAttribute, Tracing
from hatchway.model.meta import GATEWAY_GROUP
from hatchway.model.telemetry import X_GROUP, XTelemetryPolicy
from hatchway.status import (
    Condition,
    ParentRef,
    PolicyAncestorStatus,
    PolicyConditionReason,
    PolicyConditionType,
    PolicyStatus,
    ResourceKey,
    ResourceStatus,
    condition,
)
from hatchway.translate.backends import Backends
from hatchway.translate.index import Index

R = PolicyConditionReason
T = PolicyConditionType
GatewayKey = tuple[str, str]
KIND = "XTelemetryPolicy"

# The dictionary keys a gateway can fill for a request (`xds.tracing.DICTIONARY`).
SUPPORTED_ATTRIBUTES = frozenset(
    {
        "http.request.method",
        "http.response.status_code",
        "http.route",
        "url.scheme",
        "url.path",
        "url.full",
        "server.address",
        "server.port",
        "client.address",
        "client.port",
        "network.peer.address",
        "network.peer.port",
        "network.protocol.name",
        "network.transport",
        "user_agent.original",
    }
)


@dataclass(eq=False)
class _Policy:
    obj: XTelemetryPolicy
    targets: list[GatewayKey] = field(default_factory=list)  # ours, in targetRef order
    missing: list[GatewayKey] = field(default_factory=list)
    lost: set[GatewayKey] = field(default_factory=set)  # an older policy applies there
    resolved: tuple[str, str] | None = None  # (reason, message) when the backendRef is not
    collector: str | None = None
    ignored: list[str] = field(default_factory=list)  # attribute keys left out

    @property
    def origin(self) -> Origin:
        return Origin(KIND, self.obj.metadata.namespace, self.obj.metadata.name)


class TelemetryPolicies:
    def __init__(self, index: Index, ours: set[GatewayKey], backends: Backends) -> None:
        objs = sorted(
            index.snapshot.telemetry_policies,
            key=lambda p: (p.metadata.creation_timestamp, p.metadata.namespace, p.metadata.name),
        )
        self.policies = [_Policy(p) for p in objs]
        self.winners: dict[GatewayKey, _Policy] = {}
        for pol in self.policies:
            self._targets(pol, ours)
            for key in pol.targets:
                if key in self.winners:
                    pol.lost.add(key)
                else:
                    self.winners[key] = pol
            if pol.targets:
                self._provider(index, backends, pol)

    def _targets(self, pol: _Policy, ours: set[GatewayKey]) -> None:
        ns = pol.obj.metadata.namespace
        for ref in pol.obj.spec.target_refs:
            key = (ns, ref.name)
            if (ref.group, ref.kind) == (GATEWAY_GROUP, "Gateway") and key in ours:
                if key not in pol.targets:
                    pol.targets.append(key)
            elif key not in pol.missing:
                pol.missing.append(key)

    def _provider(self, index: Index, backends: Backends, pol: _Policy) -> None:
        tracing = pol.obj.spec.tracing
        if tracing is None or tracing.provider is None:
            return
        ref = tracing.provider.backend_ref
        ns = pol.obj.metadata.namespace
        target_ns = ref.namespace or ns
        pol.ignored = [
            a.attribute_key
            for a in tracing.attributes
            if a.attribute_key is not None and a.attribute_key not in SUPPORTED_ATTRIBUTES
        ]
        if (
            ref.group == ""
            and ref.kind == "Service"
            and not index.grants.permitted(
                (X_GROUP, KIND, ns), ("", "Service", target_ns, ref.name)
            )
        ):
            what = f"backendRef {target_ns}/{ref.name}"
            pol.resolved = (
                "RefNotPermitted",
                f"{what}: no ReferenceGrant in {target_ns} allows it",
            )
            return
        # The grant is checked above (for this kind); resolve as from the target namespace.
        cluster, problem = backends.resolve(KIND, target_ns, ref, forced=AppProtocol.H2C)
        if problem is not None:
            pol.resolved = (str(problem[0]), problem[1])
        pol.collector = cluster

    def tracing(self, gateway: GatewayKey) -> Tracing | None:
        """What `gateway`'s sockets trace: None when no policy says (the deployment's
        default applies), `enabled=False` when its policy disables tracing (or its collector
        cannot be resolved: no spans rather than spans to nowhere)."""
        pol = self.winners.get(gateway)
        if pol is None or pol.obj.spec.tracing is None:
            return None
        t = pol.obj.spec.tracing
        if t.mode == "ImplementationDefault":
            return None
        if t.mode == "Disabled" or pol.collector is None or t.provider is None:
            return Tracing(enabled=False, policy=pol.origin)
        ref = t.provider.backend_ref
        parent = t.parent_based_sampling
        parent_rate = None
        if parent is not None and parent.mode == "Enabled":
            rate = parent.sampling_rate
            parent_rate = (rate.numerator, rate.denominator) if rate is not None else (100, 100)
        return Tracing(
            collector_cluster=pol.collector,
            authority=f"{ref.name}.{ref.namespace or pol.obj.metadata.namespace}",
            sampling=(
                (t.sampling_rate.numerator, t.sampling_rate.denominator)
                if t.sampling_rate is not None
                else (100, 100)
            ),
            parent_sampling=parent_rate,
            service_name=t.service_name or "hatchway",
            span_name=t.span_name,
            attributes=tuple(
                SpanAttribute(a.name, a.header_name, a.literal_value, a.attribute_key)
                for a in t.attributes
                if a.attribute_key is None or a.attribute_key in SUPPORTED_ATTRIBUTES
            ),
            headers=tuple((h.name, h.value) for h in t.provider.headers),
            policy=pol.origin,
        )

    def collectors(self) -> list[tuple[str, GatewayKey]]:
        """(cluster, Gateway) for each collector a winning policy sends spans to."""
        out = []
        for key in sorted(self.winners):
            t = self.tracing(key)
            if t is not None and t.enabled and t.collector_cluster is not None:
                out.append((t.collector_cluster, key))
        return out

    def statuses(self, controller: str) -> list[ResourceStatus]:
        out: list[ResourceStatus] = []
        for pol in self.policies:
            meta = pol.obj.metadata
            gen = meta.generation
            ancestors = [
                PolicyAncestorStatus(
                    ParentRef(GATEWAY_GROUP, "Gateway", name, namespace=ns),
                    controller,
                    self._conditions(pol, (ns, name), gen),
                )
                for ns, name in sorted({*pol.targets, *pol.missing})
            ][:16]
            out.append(
                ResourceStatus(
                    ResourceKey(f"{X_GROUP}/v1alpha1", KIND, meta.namespace, meta.name),
                    gen,
                    PolicyStatus(tuple(ancestors)),
                )
            )
        return out

    def _conditions(self, pol: _Policy, key: GatewayKey, gen: int) -> tuple[Condition, ...]:
        if key in pol.missing:
            accepted = condition(
                T.ACCEPTED, False, R.TARGET_NOT_FOUND, f"Gateway {key[0]}/{key[1]} not found", gen
            )
        elif key in pol.lost:
            older = self.winners[key].obj.metadata
            accepted = condition(
                T.ACCEPTED,
                False,
                R.CONFLICTED,
                f"XTelemetryPolicy {older.namespace}/{older.name} is older and applies to "
                f"Gateway {key[0]}/{key[1]}",
                gen,
            )
        else:
            message = "Policy is accepted"
            if pol.ignored:
                message += "; attributeKeys Hatchway cannot fill are left out: " + ", ".join(
                    pol.ignored
                )
            accepted = condition(T.ACCEPTED, True, R.ACCEPTED, message, gen)
        if pol.resolved is not None:
            resolved = condition(T.RESOLVED_REFS, False, pol.resolved[0], pol.resolved[1], gen)
        else:
            resolved = condition(
                T.RESOLVED_REFS, True, R.RESOLVED_REFS, "All references resolved", gen
            )
        return (accepted, resolved)


def with_tracing(
    listeners: tuple[Listener, ...], policies: TelemetryPolicies
) -> tuple[Listener, ...]:
    """Each HTTP(S) socket with its Gateway's tracing. A socket several Gateways share (one
    data plane for all, under serve) follows the first of them, by namespace and name, whose
    policy says anything: Envoy traces per connection manager, not per virtual host."""
    if not policies.winners:
        return listeners
    out = []
    for listener in listeners:
        tracing = None
        if listener.protocol in (Protocol.HTTP, Protocol.HTTPS):
            for key in _gateways_of(listener):
                tracing = policies.tracing(key)
                if tracing is not None:
                    break
        out.append(listener if tracing is None else replace(listener, tracing=tracing))
    return tuple(out)


def _gateways_of(listener: Listener) -> list[GatewayKey]:
    if listener.owner is not None:
        return [listener.owner]
    keys = {(g.namespace, g.name) for g in listener.gateways if g.kind == "Gateway"}
    keys |= {(gw.namespace, gw.name) for _, gw in listener.listener_sets}
    return sorted(keys)
