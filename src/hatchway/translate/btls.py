"""BackendTLSPolicy (§7): targets, CA validation, conflicts, ancestors, and `Cluster.tls`."""

from __future__ import annotations

from dataclasses import dataclass

from hatchway.ir import UpstreamTLS
from hatchway.model.meta import GATEWAY_GROUP
from hatchway.model.policy import BackendTLSPolicy
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
from hatchway.translate.backends import ClusterSpec
from hatchway.translate.index import Index
from hatchway.translate.pem import check_ca_bundle
from hatchway.translate.trust import KIND, is_trust_bundle, trust_bundle

R = PolicyConditionReason
T = PolicyConditionType
Problem = tuple[str, str]
TargetKey = tuple[str, str, str | None]  # (namespace, service, port name or None = whole)
ServiceGateways = dict[tuple[str, str], set[tuple[str, str]]]  # Service -> Gateways using it


@dataclass(eq=False)
class PolicyCtx:
    obj: BackendTLSPolicy
    targets: list[TargetKey]
    rejected: Problem | None = None  # Accepted=False: (reason, message)
    resolved: Problem | None = None
    ca_pem: str | None = None
    system: bool = False

    @property
    def order(self) -> tuple[object, ...]:
        m = self.obj.metadata
        return (m.creation_timestamp, m.namespace, m.name)

    @property
    def namespace(self) -> str:
        return self.obj.metadata.namespace

    @property
    def target_not_found(self) -> bool:
        return self.rejected is not None and self.rejected[0] == R.TARGET_NOT_FOUND

    @property
    def named_services(self) -> list[tuple[str, str]]:
        """Every Service a targetRef names, whether or not it (or its port) exists."""
        return [
            (self.namespace, t.name)
            for t in self.obj.spec.target_refs
            if (t.group, t.kind) == ("", "Service")
        ]


def _validate(index: Index, pc: PolicyCtx, bundles: bool) -> None:
    """`bundles`: whether ClusterTrustBundles exist here (Settings.cluster_trust_bundles)."""
    ns = pc.namespace
    v = pc.obj.spec.validation
    for t in pc.obj.spec.target_refs:
        svc = index.services.get((ns, t.name)) if (t.group, t.kind) == ("", "Service") else None
        if svc is None:
            continue
        if t.section_name is not None:
            port = next((p for p in svc.spec.ports if p.name == t.section_name), None)
            if port is None:
                continue
            if port.protocol == "UDP":
                pc.rejected = (R.INVALID, f"port {t.section_name} of {t.name} is UDP")
        pc.targets.append((ns, t.name, t.section_name))
    if not pc.targets:
        pc.rejected = (R.TARGET_NOT_FOUND, "no targetRef names an existing Service (port)")
        return
    if v.well_known_ca_certificates is not None and v.ca_certificate_refs:
        pc.rejected = (R.INVALID, "caCertificateRefs and wellKnownCACertificates are exclusive")
        return
    if v.well_known_ca_certificates is not None:
        if v.well_known_ca_certificates != "System":
            pc.rejected = (
                R.INVALID,
                f"wellKnownCACertificates {v.well_known_ca_certificates!r} is not supported",
            )
        else:
            pc.system = True
        return
    cas: list[str] = []
    for ref in v.ca_certificate_refs:
        if is_trust_bundle(ref.group, ref.kind):
            pem, err = trust_bundle(index, ref.name, bundles)
            if err is not None:
                kind, message = err
                reason = R.INVALID_KIND if kind == KIND else R.INVALID_CA_CERTIFICATE_REF
                pc.resolved = pc.resolved or (reason, message)
            else:
                assert pem is not None
                cas.append(pem)
            continue
        if (ref.group, ref.kind) != ("", "ConfigMap"):
            pc.resolved = pc.resolved or (
                R.INVALID_KIND,
                f"caCertificateRef {ref.name}: {ref.group or 'core'}/{ref.kind} is not a "
                "ConfigMap or ClusterTrustBundle",
            )
            continue
        cm = index.config_maps.get((ns, ref.name))
        ca = cm.data.get("ca.crt") if cm is not None else None
        problem = "missing, or no ca.crt" if not ca else check_ca_bundle(ca.encode())
        if not ca or problem is not None:
            pc.resolved = pc.resolved or (
                R.INVALID_CA_CERTIFICATE_REF,
                f"caCertificateRef {ref.name}: {problem}",
            )
            continue
        cas.append(ca if ca.endswith("\n") else ca + "\n")  # bundles are concatenated
    if not cas:
        pc.rejected = (R.NO_VALID_CA_CERTIFICATE, "no valid CA certificate")
        return
    pc.ca_pem = "".join(cas)


class Policies:
    def __init__(self, index: Index, bundles: bool = True) -> None:
        self.policies = sorted(
            (PolicyCtx(p, []) for p in index.snapshot.backend_tls_policies),
            key=lambda p: p.order,
        )
        self.winners: dict[TargetKey, PolicyCtx] = {}
        for pc in self.policies:
            _validate(index, pc, bundles)
            if pc.target_not_found:
                continue
            lost = [t for t in pc.targets if t in self.winners]
            for t in pc.targets:
                self.winners.setdefault(t, pc)
            if lost and pc.rejected is None:
                pc.rejected = (
                    R.CONFLICTED,
                    "an older BackendTLSPolicy targets the same Service port",
                )

    def for_cluster(self, spec: ClusterSpec) -> PolicyCtx | None:
        if spec.service is None or spec.port is None:
            return None  # an XBackend: its own TLS
        meta = spec.service.metadata
        if spec.port.name:
            found = self.winners.get((meta.namespace, meta.name, spec.port.name))
            if found is not None:
                return found
        return self.winners.get((meta.namespace, meta.name, None))

    def upstream_tls(
        self, spec: ClusterSpec, client_cert: tuple[str, str] | None
    ) -> UpstreamTLS | None:
        pc = self.for_cluster(spec)
        if pc is None or (pc.rejected is not None and pc.rejected[0] == R.CONFLICTED):
            return None
        v = pc.obj.spec.validation
        sans_dns = tuple(
            s.hostname for s in v.subject_alt_names if s.type == "Hostname" and s.hostname
        )
        sans_uri = tuple(s.uri for s in v.subject_alt_names if s.type == "URI" and s.uri)
        return UpstreamTLS(
            sni=v.hostname,
            ca_pem=pc.ca_pem,
            use_system_cas=pc.system,
            san_dns=sans_dns,
            san_uri=sans_uri,
            client_cert_pem=client_cert[0] if client_cert else None,
            client_key_pem=client_cert[1] if client_cert else None,
            invalid=pc.rejected[1] if pc.rejected is not None else None,
        )

    @property
    def any_target_not_found(self) -> bool:
        return any(pc.target_not_found for pc in self.policies)

    def statuses(
        self,
        service_gateways: ServiceGateways,
        controller: str,
        referenced: ServiceGateways | None = None,
    ) -> list[ResourceStatus]:
        """Per-ancestor statuses. The ancestors are the Gateways whose routes use the target;
        for a missing target (or port), those whose routes refer to it (`referenced`, by
        Service name), so that TargetNotFound is reported where the problem shows."""
        out: list[ResourceStatus] = []
        for pc in self.policies:
            gen = pc.obj.metadata.generation
            gws: set[tuple[str, str]] = set()
            for ns, svc, _ in pc.targets:
                gws |= service_gateways.get((ns, svc), set())
            if pc.target_not_found:
                for key in pc.named_services:
                    gws |= service_gateways.get(key, set()) | (referenced or {}).get(key, set())
            conds: list[Condition] = []
            if pc.rejected is not None:
                conds.append(condition(T.ACCEPTED, False, pc.rejected[0], pc.rejected[1], gen))
            else:
                conds.append(condition(T.ACCEPTED, True, R.ACCEPTED, "Policy is accepted", gen))
            if pc.resolved is not None:
                conds.append(condition(T.RESOLVED_REFS, False, pc.resolved[0], pc.resolved[1], gen))
            else:
                conds.append(
                    condition(
                        T.RESOLVED_REFS, True, R.RESOLVED_REFS, "All references resolved", gen
                    )
                )
            ancestors = tuple(
                PolicyAncestorStatus(
                    ParentRef(GATEWAY_GROUP, "Gateway", name, namespace=ns),
                    controller,
                    tuple(conds),
                )
                for ns, name in sorted(gws)
            )[:16]
            if not ancestors:
                continue
            out.append(
                ResourceStatus(
                    ResourceKey(
                        f"{GATEWAY_GROUP}/v1",
                        "BackendTLSPolicy",
                        pc.namespace,
                        pc.obj.metadata.name,
                    ),
                    gen,
                    PolicyStatus(ancestors),
                )
            )
        return out
