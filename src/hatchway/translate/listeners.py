"""Gateways, ListenerSets and their listeners: validation, conflicts, TLS, allowedRoutes (§2, §8).

`build_gateways` decides everything about listeners that does not depend on routes, once per
translation; the contexts it builds (`translate.gatewayctx`) are not changed afterwards.
Attached-route counts and port outcomes are computed in their own passes, and
`translate.gateway_status` writes the statuses from all three.
"""

from __future__ import annotations

from datetime import datetime

from hatchway.ir import ClientValidation, ExternalAuth, Origin, TLSCertificate
from hatchway.model.gateway import Listener, ListenerSet
from hatchway.model.meta import GATEWAY_GROUP, ObjectReference, SecretObjectReference
from hatchway.model.snapshot import Snapshot
from hatchway.status import (
    ConditionStatus,
    GatewayClassConditionReason,
    GatewayClassConditionType,
    GatewayClassStatus,
    GatewayConditionReason,
    ListenerConditionReason,
    ListenerSetConditionReason,
    ReportWarning,
    ResourceKey,
    ResourceStatus,
    RouteConditionReason,
    condition,
)
from hatchway.status.findings import Finding
from hatchway.translate.addresses import assign_addresses, known_addresses
from hatchway.translate.backends import Backends
from hatchway.translate.extauth import external_auth
from hatchway.translate.features import supported_features
from hatchway.translate.gatewayctx import (
    GW_API,
    PROTOCOL_KINDS,
    GatewayCtx,
    ListenerCtx,
    ListenerKey,
    ListenerSetCtx,
)
from hatchway.translate.hostnames import overlaps
from hatchway.translate.index import Index
from hatchway.translate.params import class_params, gateway_params
from hatchway.translate.pem import as_text, check_ca_bundle, check_key_pair
from hatchway.translate.selectors import selector_matches, selector_problem
from hatchway.translate.settings import GatewayAddresses, Settings
from hatchway.translate.trust import KIND, is_trust_bundle, trust_bundle

# --- GatewayClass -------------------------------------------------------------------------------


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
                GatewayClassStatus((cond,), supported_features(settings)),
            )
        )
    return ours, out


# --- Listener checks ----------------------------------------------------------------------------


def _check_kinds(lc: ListenerCtx) -> None:
    allowed = PROTOCOL_KINDS.get(lc.protocol)
    if allowed is None:
        lc.rejected = (
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
    index: Index, lc: ListenerCtx, ref: ObjectReference, settings: Settings
) -> tuple[str | None, tuple[str, str] | None]:
    ns = ref.namespace or lc.gateway.namespace
    what = f"caCertificateRef {ns}/{ref.name}"
    if is_trust_bundle(ref.group, ref.kind):
        pem, err = trust_bundle(index, ref.name, settings.cluster_trust_bundles)
        if err is None:
            return pem, None
        kind, message = err
        R = ListenerConditionReason
        return None, (
            R.INVALID_CA_CERTIFICATE_KIND if kind == KIND else R.INVALID_CA_CERTIFICATE_REF,
            message,
        )
    if ref.group != "" or ref.kind != "ConfigMap":
        return None, (
            ListenerConditionReason.INVALID_CA_CERTIFICATE_KIND,
            f"{what}: {ref.group or 'core'}/{ref.kind} is not a ConfigMap or ClusterTrustBundle",
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


def _check_frontend_validation(index: Index, lc: ListenerCtx, settings: Settings) -> None:
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
        ca, err = _resolve_ca(index, lc, ref, settings)
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
        lc.rejected = (ListenerConditionReason.NO_VALID_CA_CERTIFICATE, msg)
        lc.programmed = (ListenerConditionReason.INVALID, msg)
        return
    lc.client_validation = ClientValidation("".join(cas), allow_insecure_fallback=insecure)


def _check_filters(lc: ListenerCtx, backends: Backends) -> None:
    """Pre-routing filters (GEP-5224): each one runs, in order, or the listener is not
    accepted (never a filter silently left out). An ExternalAuth whose service cannot be
    resolved still runs, failing closed: ResolvedRefs=False, and its requests get 500."""
    filters = lc.spec.filters
    if filters is None:
        return
    R = ListenerConditionReason
    chain: list[ExternalAuth] = []
    for i, f in enumerate(filters.requests):
        at = f"filters.requests[{i}]"
        if f.external_auth is None:
            ref = f.extension_ref
            what = f"{ref.group or 'core'}/{ref.kind} {ref.name}" if ref else "?"
            lc.rejected = (
                R.UNSUPPORTED_VALUE,
                f"{at}: ExtensionRef {what} is not supported (Hatchway has no listener "
                "filter extensions)",
            )
            return
        auth, problem = external_auth(
            backends, lc.owner.kind, lc.namespace, f.external_auth, pre_routing=True
        )
        chain.append(auth)
        if problem is not None and lc.resolved is None:
            reason = (
                R.REF_NOT_PERMITTED
                if problem[0] == RouteConditionReason.REF_NOT_PERMITTED
                else R.INVALID_LISTENER_FILTER_REF
            )
            lc.resolved = (reason, f"{at}: ExternalAuth {problem[1]}")
    lc.external_auth = tuple(chain)


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
    beaten: set[ListenerKey] = set()
    for i, a in enumerate(candidates):
        for b in candidates[i + 1 :]:
            reason = _conflict(a, b, settings.tls_mode_mixed)
            if reason is None:
                continue
            losers: tuple[ListenerCtx, ...] = ()
            if a.owner.kind == b.owner.kind and a.owner.name == b.owner.name:
                if a.key in beaten or b.key in beaten:
                    continue
                losers = (a, b)
            elif a.conflict is None and b.conflict is None:
                losers = (b,)
                beaten.add(b.key)
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


def _check_addresses(gw: GatewayCtx, settings: Settings) -> None:
    known = settings.gateway_addresses.get((gw.namespace, gw.name))
    if known is not None:
        _known_addresses(gw, known, settings)
        return
    out = assign_addresses(gw.obj, settings)
    gw.address_outcome = out
    gw.addresses = out.binds
    if out.unsupported_type is not None:
        gw.rejected = (GatewayConditionReason.UNSUPPORTED_ADDRESS, out.unsupported_type)
    if out.unusable:
        gw.programmed = (GatewayConditionReason.ADDRESS_NOT_USABLE, "; ".join(out.unusable))
    elif not out.assigned:
        gw.programmed = (GatewayConditionReason.ADDRESS_NOT_ASSIGNED, "; ".join(out.unsatisfied))


def _known_addresses(gw: GatewayCtx, known: GatewayAddresses, settings: Settings) -> None:
    """Addresses the edge reports (a provisioned data plane: bound in its Pods, reached at its
    Service's load balancer). Only IPAddress and Hostname types can be requested there."""
    out = known_addresses(gw.obj, known, settings)
    gw.address_outcome = out
    if out.unsupported_type is not None:
        gw.rejected = (GatewayConditionReason.UNSUPPORTED_ADDRESS, out.unsupported_type)
    gw.addresses = known.bind
    if known.unusable:
        listed = ", ".join(known.unusable)
        gw.programmed = (
            GatewayConditionReason.ADDRESS_NOT_USABLE,
            f"the load balancer did not assign the requested address {listed}",
        )
    elif known.pending is not None:
        gw.programmed = (GatewayConditionReason.ADDRESS_NOT_ASSIGNED, known.pending)
    elif out.requested and not out.assigned:
        gw.programmed = (GatewayConditionReason.ADDRESS_NOT_ASSIGNED, "; ".join(out.unsatisfied))
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


def _new_listener(
    owner: Origin, gw: GatewayCtx, spec: Listener, generation: int, position: int
) -> ListenerCtx:
    return ListenerCtx(
        owner=Origin(owner.kind, owner.namespace, owner.name, section=spec.name),
        gateway=gw,
        spec=spec,
        generation=generation,
        position=position,
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


def build_gateways(
    index: Index, classes: dict[str, bool], settings: Settings, backends: Backends | None = None
) -> list[GatewayCtx]:
    """Our Gateways (sorted by namespace/name) with their listeners and ListenerSets checked.
    `backends` resolves the services of listener filters (a fresh one when not given)."""
    backends = backends if backends is not None else Backends(index)
    gateways: dict[tuple[str, str], GatewayCtx] = {}
    for obj in index.snapshot.gateways:
        if obj.spec.gateway_class_name not in classes:
            continue
        gw = GatewayCtx(obj)
        gateways[(gw.namespace, gw.name)] = gw
        if not classes[obj.spec.gateway_class_name]:
            gw.rejected = (GatewayConditionReason.INVALID, "GatewayClass is not accepted")
        params = gateway_params(index.snapshot, obj)
        if isinstance(params, str):
            gw.rejected = (GatewayConditionReason.INVALID_PARAMETERS, f"infrastructure.{params}")
        _check_addresses(gw, settings)
        _check_client_certificate(index, gw)
        gw.listeners = [
            _new_listener(gw.origin, gw, spec, obj.metadata.generation, i)
            for i, spec in enumerate(obj.spec.listeners)
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
            _new_listener(lsc.origin, parent, spec, ls_obj.metadata.generation, i)
            for i, spec in enumerate(ls_obj.spec.listeners)
        ]
        if not _listener_set_allowed(index, parent, ls_obj):
            lsc.rejected = (
                ListenerSetConditionReason.NOT_ALLOWED,
                "the parent Gateway's allowedListeners does not allow this ListenerSet",
            )
        elif parent.rejected is not None:
            lsc.rejected = (
                ListenerSetConditionReason.PARENT_NOT_ACCEPTED,
                "the parent Gateway is not accepted",
            )

    for gw in gateways.values():
        merged = gw.all_listeners()
        for lc in merged:
            _check_kinds(lc)
            if lc.rejected is None:
                _check_filters(lc, backends)
            if lc.rejected is None:
                _check_certificates(index, lc)
                _check_frontend_validation(index, lc, settings)
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


__all__ = [
    "ConditionStatus",
    "GatewayCtx",
    "ListenerCtx",
    "ListenerSetCtx",
    "build_gateways",
    "certificate_warnings",
    "class_statuses",
]
