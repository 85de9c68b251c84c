"""Gateways, ListenerSets and their listeners: validation, conflicts, TLS, allowedRoutes (§2, §8).

Phase 1 (`build_gateways`) decides everything about listeners that does not depend on routes;
route attachment then increments `attached`, and `gateway_statuses` writes the status.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime

from hatchway.ir import ClientValidation, Origin, TLSCertificate
from hatchway.model.gateway import Gateway, Listener, ListenerSet
from hatchway.model.meta import GATEWAY_GROUP, ObjectReference, SecretObjectReference
from hatchway.model.snapshot import Snapshot
from hatchway.status import (
    Condition,
    ConditionStatus,
    GatewayAddress,
    GatewayClassConditionReason,
    GatewayClassConditionType,
    GatewayClassStatus,
    GatewayConditionReason,
    GatewayConditionType,
    GatewayStatus,
    ListenerConditionReason,
    ListenerConditionType,
    ListenerSetConditionReason,
    ListenerSetConditionType,
    ListenerSetStatus,
    ListenerStatus,
    ReportWarning,
    ResourceKey,
    ResourceStatus,
    RouteGroupKind,
    condition,
)
from hatchway.status.findings import Finding
from hatchway.translate.features import DATA_PLANE_FEATURES, SUPPORTED_FEATURES
from hatchway.translate.hostnames import overlaps
from hatchway.translate.index import Index
from hatchway.translate.params import class_params, gateway_params
from hatchway.translate.pem import Validity, as_text, check_ca_bundle, check_key_pair
from hatchway.translate.selectors import selector_matches, selector_problem
from hatchway.translate.settings import GatewayAddresses, Settings

GW_API = f"{GATEWAY_GROUP}/v1"
TCP_FAMILY = {"HTTP", "HTTPS", "TLS", "TCP"}

# Route kinds each protocol can carry (all in the gateway.networking.k8s.io group).
PROTOCOL_KINDS: dict[str, tuple[str, ...]] = {
    "HTTP": ("HTTPRoute", "GRPCRoute"),
    "HTTPS": ("HTTPRoute", "GRPCRoute"),
    "TLS": ("TLSRoute",),
    "TCP": ("TCPRoute",),
    "UDP": ("UDPRoute",),
}


@dataclass(eq=False)
class ListenerCtx:
    """One Gateway or ListenerSet listener while translating."""

    owner: Origin  # Gateway or ListenerSet, section = listener name
    gateway: GatewayCtx
    spec: Listener
    generation: int
    kinds: tuple[str, ...] = ()
    accepted: tuple[str, str] | None = None  # (reason, message) when not accepted
    conflict: str | None = None
    resolved: tuple[str, str] | None = None  # (reason, message) when refs are unresolved
    programmed: tuple[str, str] | None = None
    # allowedRoutes.namespaces is from: Selector without a usable selector: Programmed=False,
    # no route namespace is allowed, and the listener stays out of Envoy.
    selector_problem: str | None = None
    overlapping: bool = False
    certificates: tuple[TLSCertificate, ...] = ()
    # (Secret namespace/name, window) of each usable certificate: expiry is judged per snapshot.
    validity: list[tuple[str, Validity]] = field(default_factory=list)
    client_validation: ClientValidation | None = None
    attached: int = 0

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def protocol(self) -> str:
        return self.spec.protocol

    @property
    def port(self) -> int:
        return self.spec.port

    @property
    def hostname(self) -> str | None:
        return self.spec.hostname

    @property
    def namespace(self) -> str:
        return self.owner.namespace

    @property
    def is_ready(self) -> bool:
        """Accepted and not conflicted."""
        return self.accepted is None and self.conflict is None

    @property
    def is_configured(self) -> bool:
        """Ready and valid: its port gets configured."""
        return self.is_ready and self.selector_problem is None

    @property
    def can_serve(self) -> bool:
        """Ready and programmable (e.g. an HTTPS listener has a usable certificate)."""
        return self.is_ready and self.programmed is None

    @property
    def tls_mode(self) -> str | None:
        if self.protocol == "HTTPS":
            return "Terminate"
        if self.protocol == "TLS":
            return self.spec.tls.mode if self.spec.tls else "Passthrough"
        return None

    def allows_namespace(self, index: Index, namespace: str) -> bool:
        ns = self.spec.allowed_routes.namespaces
        if self.selector_problem is not None:
            return False
        if ns.from_ == "All":
            return True
        if ns.from_ == "Same":
            return namespace == self.namespace
        return selector_matches(ns.selector, index.labels_of(namespace))


@dataclass(eq=False)
class ListenerSetCtx:
    obj: ListenerSet
    gateway: GatewayCtx
    listeners: list[ListenerCtx] = field(default_factory=list)
    rejected: tuple[str, str] | None = None  # (reason, message) for Accepted/Programmed False

    @property
    def origin(self) -> Origin:
        return Origin("ListenerSet", self.obj.metadata.namespace, self.obj.metadata.name)


@dataclass(eq=False)
class GatewayCtx:
    obj: Gateway
    addresses: tuple[str, ...] = ()  # where its listeners bind
    # status.addresses when the edge says where the Gateway is reached (provisioned data
    # plane: its Service's load balancer); None: the addresses it binds.
    reported: tuple[GatewayAddress, ...] | None = None
    listeners: list[ListenerCtx] = field(default_factory=list)  # own listeners
    listener_sets: list[ListenerSetCtx] = field(default_factory=list)
    accepted: tuple[str, str] | None = None  # Gateway-level (reason, message) when not accepted
    programmed: tuple[str, str] | None = None
    resolved: tuple[str, str] | None = None
    insecure_frontend: bool = False
    client_cert: tuple[str, str] | None = None  # (cert pem, key pem) for backend TLS
    client_cert_validity: tuple[str, Validity] | None = None

    @property
    def namespace(self) -> str:
        return self.obj.metadata.namespace

    @property
    def name(self) -> str:
        return self.obj.metadata.name

    @property
    def origin(self) -> Origin:
        return Origin("Gateway", self.namespace, self.name)

    @property
    def created(self) -> datetime:
        return self.obj.metadata.creation_timestamp

    def all_listeners(self) -> list[ListenerCtx]:
        out = list(self.listeners)
        for ls in self.listener_sets:
            if ls.rejected is None:
                out.extend(ls.listeners)
        return out

    @property
    def valid(self) -> bool:
        return self.accepted is None and any(lc.is_ready for lc in self.listeners)


# --- GatewayClass -------------------------------------------------------------------------------


def _features(settings: Settings) -> tuple[str, ...]:
    if not settings.per_gateway_sockets:
        return SUPPORTED_FEATURES
    return tuple(sorted({*SUPPORTED_FEATURES, *DATA_PLANE_FEATURES}))


def class_statuses(
    snapshot: Snapshot, settings: Settings
) -> tuple[dict[str, bool], list[ResourceStatus]]:
    """Our classes (name -> accepted) and their statuses; other controllers' classes are ignored."""
    ours: dict[str, bool] = {}
    out: list[ResourceStatus] = []
    for gc in snapshot.gateway_classes:
        if gc.spec.controller_name != settings.controller_name:
            continue
        gen = gc.metadata.generation
        params = class_params(snapshot, gc)
        if isinstance(params, str):
            cond = condition(
                GatewayClassConditionType.ACCEPTED,
                False,
                GatewayClassConditionReason.INVALID_PARAMETERS,
                params,
                gen,
            )
        else:
            cond = condition(
                GatewayClassConditionType.ACCEPTED,
                True,
                GatewayClassConditionReason.ACCEPTED,
                "Accepted by Hatchway",
                gen,
            )
        ours[gc.metadata.name] = cond.is_true
        out.append(
            ResourceStatus(
                ResourceKey(GW_API, "GatewayClass", None, gc.metadata.name),
                gen,
                GatewayClassStatus((cond,), _features(settings)),
            )
        )
    return ours, out


# --- Listener checks ----------------------------------------------------------------------------


def _check_kinds(lc: ListenerCtx) -> None:
    allowed = PROTOCOL_KINDS.get(lc.protocol)
    if allowed is None:
        lc.accepted = (
            ListenerConditionReason.UNSUPPORTED_PROTOCOL,
            f"protocol {lc.protocol!r} is not supported",
        )
        return
    requested = lc.spec.allowed_routes.kinds
    if not requested:
        lc.kinds = allowed
        return
    valid: list[str] = []
    invalid: list[str] = []
    for rgk in requested:
        if rgk.group == GATEWAY_GROUP and rgk.kind in allowed:
            if rgk.kind not in valid:
                valid.append(rgk.kind)
        else:
            invalid.append(f"{rgk.group}/{rgk.kind}")
    lc.kinds = tuple(valid)
    if invalid:
        lc.resolved = (
            ListenerConditionReason.INVALID_ROUTE_KINDS,
            f"route kinds not supported on a {lc.protocol} listener: {', '.join(invalid)}",
        )


def _check_allowed_namespaces(lc: ListenerCtx) -> None:
    """`from: Selector` needs a selector Kubernetes can use. The spec gives no condition for
    one that is missing or invalid; like Envoy Gateway, the listener is Programmed=False/Invalid
    ("syntactically or semantically invalid") and not configured, and it allows no route
    (a route it would have taken is NotAllowedByListeners, with this message). It stays
    Accepted: its port, protocol and hostname are fine, and it still takes part in conflicts."""
    ns = lc.spec.allowed_routes.namespaces
    if ns.from_ != "Selector":
        return
    if ns.selector is None:
        lc.selector_problem = "allowedRoutes.namespaces.selector is required when from is Selector"
    elif (problem := selector_problem(ns.selector)) is not None:
        lc.selector_problem = f"allowedRoutes.namespaces.selector is invalid: {problem}"
    if lc.selector_problem is not None:
        lc.programmed = lc.programmed or (ListenerConditionReason.INVALID, lc.selector_problem)


def _resolve_secret(
    index: Index, lc: ListenerCtx, ref: SecretObjectReference
) -> tuple[TLSCertificate | None, tuple[str, str] | None]:
    ns = ref.namespace or lc.namespace
    what = f"certificateRef {ns}/{ref.name}"
    if ref.group != "" or ref.kind != "Secret":
        return None, (
            ListenerConditionReason.INVALID_CERTIFICATE_REF,
            f"{what}: {ref.group or 'core'}/{ref.kind} is not a Secret",
        )
    if not index.grants.permitted(
        (GATEWAY_GROUP, lc.owner.kind, lc.namespace), ("", "Secret", ns, ref.name)
    ):
        return None, (
            ListenerConditionReason.REF_NOT_PERMITTED,
            f"{what}: no ReferenceGrant in {ns} allows it",
        )
    secret = index.secrets.get((ns, ref.name))
    if secret is None:
        return None, (ListenerConditionReason.INVALID_CERTIFICATE_REF, f"{what}: not found")
    crt, key = secret.data.get("tls.crt"), secret.data.get("tls.key")
    if secret.type != "kubernetes.io/tls" or crt is None or key is None:
        return None, (
            ListenerConditionReason.INVALID_CERTIFICATE_REF,
            f"{what}: not a kubernetes.io/tls Secret with tls.crt and tls.key",
        )
    # Malformed data is InvalidCertificateRef (spec: "the data within that resource is
    # malformed"); a pair Envoy would refuse must never reach it (it rejects the whole port).
    check = check_key_pair(crt, key)
    if check.problem is not None:
        return None, (ListenerConditionReason.INVALID_CERTIFICATE_REF, f"{what}: {check.problem}")
    if check.validity is not None:
        lc.validity.append((f"{ns}/{ref.name}", check.validity))
    return TLSCertificate(f"{ns}/{ref.name}", as_text(crt), as_text(key)), None


def _check_certificates(index: Index, lc: ListenerCtx) -> None:
    if lc.tls_mode != "Terminate" or lc.spec.tls is None:
        return
    certs: list[TLSCertificate] = []
    problem: tuple[str, str] | None = None
    for ref in lc.spec.tls.certificate_refs:
        cert, err = _resolve_secret(index, lc, ref)
        if cert is not None:
            certs.append(cert)
        elif problem is None:
            problem = err
    lc.certificates = tuple(certs)
    if problem is not None:
        lc.resolved = problem
        if not certs:  # with one usable certificate the listener still serves
            lc.programmed = (ListenerConditionReason.INVALID, problem[1])
    elif not certs:
        lc.resolved = (ListenerConditionReason.INVALID_CERTIFICATE_REF, "no certificateRefs")
        lc.programmed = (ListenerConditionReason.INVALID, "no certificateRefs")


def _resolve_ca(
    index: Index, lc: ListenerCtx, ref: ObjectReference
) -> tuple[str | None, tuple[str, str] | None]:
    ns = ref.namespace or lc.gateway.namespace
    what = f"caCertificateRef {ns}/{ref.name}"
    if ref.group != "" or ref.kind != "ConfigMap":
        return None, (
            ListenerConditionReason.INVALID_CA_CERTIFICATE_KIND,
            f"{what}: {ref.group or 'core'}/{ref.kind} is not a ConfigMap",
        )
    if not index.grants.permitted(
        (GATEWAY_GROUP, "Gateway", lc.gateway.namespace), ("", "ConfigMap", ns, ref.name)
    ):
        return None, (
            ListenerConditionReason.REF_NOT_PERMITTED,
            f"{what}: no ReferenceGrant in {ns} allows it",
        )
    cm = index.config_maps.get((ns, ref.name))
    ca = cm.data.get("ca.crt") if cm is not None else None
    problem = "missing, or no ca.crt" if ca is None else check_ca_bundle(ca.encode())
    if ca is None or problem is not None:
        return None, (ListenerConditionReason.INVALID_CA_CERTIFICATE_REF, f"{what}: {problem}")
    return ca if ca.endswith("\n") else ca + "\n", None  # bundles are concatenated


def _check_frontend_validation(index: Index, lc: ListenerCtx) -> None:
    tls = lc.gateway.obj.spec.tls
    if lc.protocol != "HTTPS" or tls is None or tls.frontend is None:
        return
    cfg = tls.frontend.default
    for per_port in tls.frontend.per_port:
        if per_port.port == lc.port:
            cfg = per_port.tls
    validation = cfg.validation
    if validation is None:
        return
    cas: list[str] = []
    problem: tuple[str, str] | None = None
    for ref in validation.ca_certificate_refs:
        ca, err = _resolve_ca(index, lc, ref)
        if ca is not None:
            cas.append(ca)
        elif problem is None:
            problem = err
    if problem is not None and lc.resolved is None:
        lc.resolved = problem
    insecure = validation.mode == "AllowInsecureFallback"
    if insecure:
        lc.gateway.insecure_frontend = True
    if not cas:
        msg = "no valid CA certificate for client validation"
        lc.accepted = (ListenerConditionReason.NO_VALID_CA_CERTIFICATE, msg)
        lc.programmed = (ListenerConditionReason.INVALID, msg)
        return
    lc.client_validation = ClientValidation("".join(cas), allow_insecure_fallback=insecure)


def _conflict(a: ListenerCtx, b: ListenerCtx, mixed_tls: bool) -> str | None:
    """The conflict reason if two listeners on the same port cannot coexist."""
    if a.port != b.port:
        return None
    pa, pb = a.protocol, b.protocol
    if (pa == "UDP") != (pb == "UDP"):
        return None  # different transports
    if pa != pb:
        return ListenerConditionReason.PROTOCOL_CONFLICT
    if pa in ("TCP", "UDP"):
        return ListenerConditionReason.PROTOCOL_CONFLICT
    if pa == "TLS" and a.tls_mode != b.tls_mode and not mixed_tls:
        return ListenerConditionReason.PROTOCOL_CONFLICT
    if a.hostname == b.hostname:
        return ListenerConditionReason.HOSTNAME_CONFLICT
    return None


def _mark_conflicts(merged: list[ListenerCtx], settings: Settings) -> None:
    """Within one parent every conflicting listener loses; across parents the later one loses.

    A conflicted listener keeps its supportedKinds ("the kinds supported ... for that Listener
    configuration") and routes still attach to it. But for TLS Terminate next to Passthrough
    without TLSRouteModeMixed: that configuration is unsupported, and supports no kind
    (conformance TLSRouteListenerMixedTerminationNotSupported expects none).
    """
    candidates = [lc for lc in merged if lc.protocol in PROTOCOL_KINDS]
    # Listeners that already lost to an earlier parent are out of the picture: they must not
    # take their own siblings down with them (conformance ListenerSetProtocolConflict).
    beaten: set[int] = set()
    for i, a in enumerate(candidates):
        for b in candidates[i + 1 :]:
            reason = _conflict(a, b, settings.tls_mode_mixed)
            if reason is None:
                continue
            losers: tuple[ListenerCtx, ...] = ()
            if a.owner.kind == b.owner.kind and a.owner.name == b.owner.name:
                if id(a) in beaten or id(b) in beaten:
                    continue
                losers = (a, b)
            elif a.conflict is None and b.conflict is None:
                losers = (b,)
                beaten.add(id(b))
            unsupported = (
                not settings.tls_mode_mixed
                and a.protocol == b.protocol == "TLS"
                and a.tls_mode != b.tls_mode
            )
            for lc in losers:
                lc.conflict = lc.conflict or reason
                if unsupported:
                    lc.kinds = ()


def _mark_overlaps(merged: list[ListenerCtx]) -> None:
    tls = [lc for lc in merged if lc.protocol in ("HTTPS", "TLS") and lc.conflict is None]
    for i, a in enumerate(tls):
        for b in tls[i + 1 :]:
            if a.port == b.port and overlaps(a.hostname, b.hostname):
                a.overlapping = b.overlapping = True


# --- Gateways -----------------------------------------------------------------------------------


def _usable(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, usable: tuple[str, ...]) -> bool:
    return any(ip in ipaddress.ip_network(net, strict=False) for net in usable)


def _check_addresses(gw: GatewayCtx, settings: Settings) -> None:
    known = settings.gateway_addresses.get((gw.namespace, gw.name))
    if known is not None:
        _known_addresses(gw, known)
        return
    default = settings.assigned_addresses.get((gw.namespace, gw.name), settings.bind_address)
    addresses: list[str] = []
    unusable: list[str] = []
    for addr in gw.obj.spec.addresses:
        if addr.type != "IPAddress":
            gw.accepted = (
                GatewayConditionReason.UNSUPPORTED_ADDRESS,
                f"address type {addr.type!r} is not supported (only IPAddress)",
            )
            continue
        if not addr.value:
            addresses.append(default)
            continue
        try:
            ip = ipaddress.ip_address(addr.value)
        except ValueError:
            unusable.append(f"address {addr.value!r} is not an IP address")
            continue
        if settings.usable_addresses is not None and not _usable(ip, settings.usable_addresses):
            unusable.append(f"address {addr.value} is not an address of this host")
            continue
        addresses.append(str(ip))
    if unusable:
        gw.programmed = (GatewayConditionReason.ADDRESS_NOT_USABLE, "; ".join(unusable))
        # Requested addresses that all fail are not replaced by the default: the Gateway
        # would be reachable somewhere it did not ask for.
        if not addresses:
            gw.addresses = ()
            return
    gw.addresses = tuple(dict.fromkeys(addresses)) or (default,)


def _known_addresses(gw: GatewayCtx, known: GatewayAddresses) -> None:
    """Addresses the edge reports (a provisioned data plane: bound in its Pods, reached at its
    Service's load balancer). Only IPAddress and Hostname types can be requested there."""
    for addr in gw.obj.spec.addresses:
        if addr.type not in ("IPAddress", "Hostname"):
            gw.accepted = (
                GatewayConditionReason.UNSUPPORTED_ADDRESS,
                f"address type {addr.type!r} is not supported (IPAddress, Hostname)",
            )
    gw.addresses = known.bind
    gw.reported = tuple(GatewayAddress(t, v) for t, v in known.reported)
    if known.unusable:
        listed = ", ".join(known.unusable)
        gw.programmed = (
            GatewayConditionReason.ADDRESS_NOT_USABLE,
            f"the load balancer did not assign the requested address {listed}",
        )
    elif known.pending is not None:
        gw.programmed = (GatewayConditionReason.ADDRESS_NOT_ASSIGNED, known.pending)
    elif known.not_ready is not None:
        gw.programmed = (GatewayConditionReason.PENDING, known.not_ready)


def _check_client_certificate(index: Index, gw: GatewayCtx) -> None:
    tls = gw.obj.spec.tls
    ref = tls.backend.client_certificate_ref if tls and tls.backend else None
    if ref is None:
        return
    ns = ref.namespace or gw.namespace
    what = f"clientCertificateRef {ns}/{ref.name}"
    invalid = GatewayConditionReason.INVALID_CLIENT_CERTIFICATE_REF
    if ref.group != "" or ref.kind != "Secret":
        gw.resolved = (invalid, f"{what}: {ref.group or 'core'}/{ref.kind} is not a Secret")
        return
    if not index.grants.permitted(
        (GATEWAY_GROUP, "Gateway", gw.namespace), ("", "Secret", ns, ref.name)
    ):
        gw.resolved = (
            GatewayConditionReason.REF_NOT_PERMITTED,
            f"{what}: no ReferenceGrant in {ns} allows it",
        )
        return
    secret = index.secrets.get((ns, ref.name))
    crt = secret.data.get("tls.crt") if secret else None
    key = secret.data.get("tls.key") if secret else None
    if crt is None or key is None:
        gw.resolved = (invalid, f"{what}: missing, or no tls.crt and tls.key")
        return
    check = check_key_pair(crt, key)  # Envoy would refuse every cluster that carries it
    if check.problem is not None:
        gw.resolved = (invalid, f"{what}: {check.problem}")
        return
    gw.client_cert = (as_text(crt), as_text(key))
    if check.validity is not None:
        gw.client_cert_validity = (f"{ns}/{ref.name}", check.validity)


def _new_listener(owner: Origin, gw: GatewayCtx, spec: Listener, generation: int) -> ListenerCtx:
    return ListenerCtx(
        owner=Origin(owner.kind, owner.namespace, owner.name, section=spec.name),
        gateway=gw,
        spec=spec,
        generation=generation,
    )


def _listener_set_allowed(index: Index, gw: GatewayCtx, ls: ListenerSet) -> bool:
    allowed = gw.obj.spec.listener_namespaces
    ns = ls.metadata.namespace
    if allowed.from_ == "All":
        return True
    if allowed.from_ == "Same":
        return ns == gw.namespace
    if allowed.from_ == "Selector":
        return selector_matches(allowed.selector, index.labels_of(ns))
    return False


def build_gateways(index: Index, classes: dict[str, bool], settings: Settings) -> list[GatewayCtx]:
    """Our Gateways (sorted by namespace/name) with their listeners and ListenerSets checked."""
    gateways: dict[tuple[str, str], GatewayCtx] = {}
    for obj in index.snapshot.gateways:
        if obj.spec.gateway_class_name not in classes:
            continue
        gw = GatewayCtx(obj)
        gateways[(gw.namespace, gw.name)] = gw
        if not classes[obj.spec.gateway_class_name]:
            gw.accepted = (GatewayConditionReason.INVALID, "GatewayClass is not accepted")
        params = gateway_params(index.snapshot, obj)
        if isinstance(params, str):
            gw.accepted = (GatewayConditionReason.INVALID_PARAMETERS, f"infrastructure.{params}")
        _check_addresses(gw, settings)
        _check_client_certificate(index, gw)
        gw.listeners = [
            _new_listener(gw.origin, gw, spec, obj.metadata.generation)
            for spec in obj.spec.listeners
        ]

    sets = sorted(
        index.snapshot.listener_sets,
        key=lambda s: (s.metadata.creation_timestamp, s.metadata.namespace, s.metadata.name),
    )
    for ls_obj in sets:
        pref = ls_obj.spec.parent_ref
        if pref.group != GATEWAY_GROUP or pref.kind != "Gateway":
            continue
        parent = gateways.get((pref.namespace or ls_obj.metadata.namespace, pref.name))
        if parent is None:
            continue
        lsc = ListenerSetCtx(ls_obj, parent)
        parent.listener_sets.append(lsc)
        lsc.listeners = [
            _new_listener(lsc.origin, parent, spec, ls_obj.metadata.generation)
            for spec in ls_obj.spec.listeners
        ]
        if not _listener_set_allowed(index, parent, ls_obj):
            lsc.rejected = (
                ListenerSetConditionReason.NOT_ALLOWED,
                "the parent Gateway's allowedListeners does not allow this ListenerSet",
            )
        elif parent.accepted is not None:
            lsc.rejected = (
                ListenerSetConditionReason.PARENT_NOT_ACCEPTED,
                "the parent Gateway is not accepted",
            )

    for gw in gateways.values():
        merged = gw.all_listeners()
        for lc in merged:
            _check_kinds(lc)
            if lc.accepted is None:
                _check_certificates(index, lc)
                _check_frontend_validation(index, lc)
                _check_allowed_namespaces(lc)
        _mark_conflicts(merged, settings)
        _mark_overlaps(merged)
        for lsc in gw.listener_sets:
            # [conf ListenerSetReferenceGrant]: a set whose only listener has no usable
            # certificate is not accepted.
            if lsc.rejected is None and not any(lc.can_serve for lc in lsc.listeners):
                lsc.rejected = (
                    ListenerSetConditionReason.LISTENERS_NOT_VALID,
                    "no listener of this ListenerSet is valid",
                )
    return [gateways[k] for k in sorted(gateways)]


def certificate_warnings(gateways: list[GatewayCtx], now: datetime | None) -> list[ReportWarning]:
    """Certificates in use that are expired or not yet valid as of `now` (when the snapshot
    was read). Envoy serves them, and clients refuse them: a warning, not a condition."""
    if now is None:
        return []
    out: list[ReportWarning] = []
    for gw in gateways:
        who = f"Gateway/{gw.namespace}/{gw.name}"
        if gw.client_cert_validity is not None:
            secret, window = gw.client_cert_validity
            if (problem := window.problem(now)) is not None:
                out.append(
                    ReportWarning(
                        who, f"clientCertificateRef {secret}: {problem}", Finding.CERTIFICATE_TIME
                    )
                )
        for lc in gw.all_listeners():
            owner = (
                who if lc.owner.kind == "Gateway" else f"ListenerSet/{lc.namespace}/{lc.owner.name}"
            )
            for secret, window in lc.validity:
                if (problem := window.problem(now)) is not None:
                    out.append(
                        ReportWarning(
                            owner,
                            f"listener {lc.name}: certificate {secret} {problem}; clients will "
                            "refuse it",
                            Finding.CERTIFICATE_TIME,
                        )
                    )
    return out


# --- Status -------------------------------------------------------------------------------------


def _listener_status(lc: ListenerCtx, for_listener_set: bool) -> ListenerStatus:
    gen = lc.generation
    T = ListenerConditionType
    R = ListenerConditionReason
    conds: list[Condition] = []
    kinds = lc.kinds
    if lc.conflict is not None:
        reason = lc.conflict
        if for_listener_set:
            msg = "conflicts with an earlier listener on the same port"
        else:
            msg = "conflicts with another listener on the same port"
        conds.append(condition(T.ACCEPTED, False, reason, msg, gen))
        conds.append(condition(T.PROGRAMMED, False, reason, msg, gen))
    elif lc.accepted is not None:
        if lc.accepted[0] == R.UNSUPPORTED_PROTOCOL:
            kinds = ()
        conds.append(condition(T.ACCEPTED, False, lc.accepted[0], lc.accepted[1], gen))
        prog = lc.programmed or (R.INVALID, lc.accepted[1])
        conds.append(condition(T.PROGRAMMED, False, prog[0], prog[1], gen))
    else:
        conds.append(condition(T.ACCEPTED, True, R.ACCEPTED, "Listener is accepted", gen))
        if lc.gateway.accepted is not None:
            conds.append(condition(T.PROGRAMMED, False, R.INVALID, "Gateway is not accepted", gen))
        elif lc.programmed is not None:
            conds.append(condition(T.PROGRAMMED, False, lc.programmed[0], lc.programmed[1], gen))
        else:
            conds.append(condition(T.PROGRAMMED, True, R.PROGRAMMED, "Listener is programmed", gen))
    if lc.resolved is not None:
        conds.append(condition(T.RESOLVED_REFS, False, lc.resolved[0], lc.resolved[1], gen))
    else:
        conds.append(
            condition(T.RESOLVED_REFS, True, R.RESOLVED_REFS, "All references resolved", gen)
        )
    if lc.conflict is not None:
        conds.append(condition(T.CONFLICTED, True, lc.conflict, "Listener conflicts", gen))
    else:
        conds.append(condition(T.CONFLICTED, False, R.NO_CONFLICTS, "No conflicts", gen))
    if lc.overlapping:
        conds.append(
            condition(
                T.OVERLAPPING_TLS_CONFIG,
                True,
                R.OVERLAPPING_HOSTNAMES,
                "hostname overlaps another TLS listener on the same port",
                gen,
            )
        )
    return ListenerStatus(
        lc.name,
        tuple(RouteGroupKind(GATEWAY_GROUP, k) for k in kinds),
        lc.attached,
        tuple(conds),
    )


def gateway_statuses(gateways: list[GatewayCtx]) -> list[ResourceStatus]:
    out: list[ResourceStatus] = []
    T, R = GatewayConditionType, GatewayConditionReason
    for gw in gateways:
        gen = gw.obj.metadata.generation
        conds: list[Condition] = []
        own_ok = [lc.is_ready for lc in gw.listeners]
        if gw.accepted is not None:
            accepted = condition(T.ACCEPTED, False, gw.accepted[0], gw.accepted[1], gen)
        elif not any(own_ok):
            accepted = condition(
                T.ACCEPTED, False, R.LISTENERS_NOT_VALID, "No listener is valid", gen
            )
        elif not all(own_ok):
            accepted = condition(
                T.ACCEPTED, True, R.LISTENERS_NOT_VALID, "Some listeners are not valid", gen
            )
        else:
            accepted = condition(T.ACCEPTED, True, R.ACCEPTED, "Gateway is accepted", gen)
        conds.append(accepted)
        if not accepted.is_true:
            conds.append(condition(T.PROGRAMMED, False, R.INVALID, accepted.message, gen))
        elif gw.programmed is not None:
            conds.append(condition(T.PROGRAMMED, False, gw.programmed[0], gw.programmed[1], gen))
        else:
            conds.append(condition(T.PROGRAMMED, True, R.PROGRAMMED, "Gateway is programmed", gen))
        if gw.resolved is not None:
            conds.append(condition(T.RESOLVED_REFS, False, gw.resolved[0], gw.resolved[1], gen))
        elif any(lc.resolved is not None for lc in gw.listeners):
            conds.append(
                condition(
                    T.RESOLVED_REFS,
                    False,
                    R.LISTENERS_NOT_RESOLVED,
                    "Some listeners have unresolved references",
                    gen,
                )
            )
        else:
            conds.append(
                condition(T.RESOLVED_REFS, True, R.RESOLVED_REFS, "All references resolved", gen)
            )
        if gw.insecure_frontend:
            conds.append(
                condition(
                    T.INSECURE_FRONTEND_VALIDATION_MODE,
                    True,
                    R.CONFIGURATION_CHANGED,
                    "client certificate validation allows insecure fallback",
                    gen,
                )
            )
        attached_sets = None
        if gw.obj.spec.allowed_listeners is not None or gw.listener_sets:
            attached_sets = sum(1 for s in gw.listener_sets if _final_rejection(s) is None)
        addresses = (
            gw.reported
            if gw.reported is not None
            else tuple(GatewayAddress("IPAddress", a) for a in gw.addresses)
        )
        out.append(
            ResourceStatus(
                ResourceKey(GW_API, "Gateway", gw.namespace, gw.name),
                gen,
                GatewayStatus(
                    tuple(conds),
                    tuple(_listener_status(lc, False) for lc in gw.listeners),
                    addresses if accepted.is_true else (),
                    attached_sets,
                ),
            )
        )
        for lsc in gw.listener_sets:
            out.append(_listener_set_status(lsc))
    return out


def _final_rejection(lsc: ListenerSetCtx) -> tuple[str, str] | None:
    """`lsc.rejected`, or ListenersNotValid when assembly took the last listener away."""
    if lsc.rejected is None and not any(lc.can_serve for lc in lsc.listeners):
        return (
            ListenerSetConditionReason.LISTENERS_NOT_VALID,
            "no listener of this ListenerSet is valid",
        )
    return lsc.rejected


def _listener_set_status(lsc: ListenerSetCtx) -> ResourceStatus:
    gen = lsc.obj.metadata.generation
    T, R = ListenerSetConditionType, ListenerSetConditionReason
    rejected = _final_rejection(lsc)
    if rejected is not None:
        reason, msg = rejected
        # §9.4: ParentNotAccepted is an Accepted reason; Programmed says ParentNotProgrammed.
        programmed = R.PARENT_NOT_PROGRAMMED if reason == R.PARENT_NOT_ACCEPTED else reason
        conds = (
            condition(T.ACCEPTED, False, reason, msg, gen),
            condition(T.PROGRAMMED, False, programmed, msg, gen),
        )
        listeners: tuple[ListenerStatus, ...] = ()
        if reason == R.LISTENERS_NOT_VALID:
            listeners = tuple(_listener_status(lc, True) for lc in lsc.listeners)
    else:
        partial = not all(lc.can_serve for lc in lsc.listeners)
        conds = (
            condition(
                T.ACCEPTED,
                True,
                R.LISTENERS_NOT_VALID if partial else R.ACCEPTED,
                "Some listeners are not valid" if partial else "ListenerSet is accepted",
                gen,
            ),
            condition(T.PROGRAMMED, True, R.PROGRAMMED, "ListenerSet is programmed", gen),
        )
        listeners = tuple(_listener_status(lc, True) for lc in lsc.listeners)
    return ResourceStatus(
        ResourceKey(GW_API, "ListenerSet", lsc.obj.metadata.namespace, lsc.obj.metadata.name),
        gen,
        ListenerSetStatus(conds, listeners),
    )


__all__ = [
    "ConditionStatus",
    "GatewayCtx",
    "ListenerCtx",
    "ListenerSetCtx",
    "build_gateways",
    "certificate_warnings",
    "class_statuses",
    "gateway_statuses",
]
