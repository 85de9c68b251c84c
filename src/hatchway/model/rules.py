"""Cross-field validation the CRDs express in CEL (x-kubernetes-validations) and list keys.

Each check yields `Violation`s whose field path is in the user's camelCase spelling. The API
server applies CRD defaults before it evaluates CEL, and so do we: these checks run on the
validated, defaulted model. Where the API server would name the whole list
(`spec.listeners`), we name the offending element (`spec.listeners[2].hostname`), which is
easier to act on. Regular expressions in matches are not checked here (the core does that).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import BaseModel

from hatchway.model.checks import (
    HOSTNAME,
    LABEL_KEY,
    PRECISE_HOSTNAME,
    Found,
    Violation,
    duplicates,
)
from hatchway.model.core import EndpointSlice
from hatchway.model.gateway import (
    FrontendTLSValidation,
    Gateway,
    GatewayInfrastructure,
    Listener,
    ListenerFilter,
    ListenerSet,
    ListenerTLSConfig,
)
from hatchway.model.policy import BackendTLSPolicy, BackendTLSPolicyValidation
from hatchway.model.route_rules import (
    LISTENER_MEMBERS,
    external_auth,
    filter_members,
    grpc_route,
    http_route,
    l4_route,
    session_persistence,
    tls_route,
)
from hatchway.model.routes import (
    GRPCRoute,
    HTTPRoute,
    TCPRoute,
    TLSRoute,
    UDPRoute,
)
from hatchway.model.shown import quoted
from hatchway.model.xbackend import XBackend


def check(obj: BaseModel) -> list[Violation]:
    """All CEL-rule and list-key violations of one validated object (empty when valid)."""
    checker = _CHECKS.get(type(obj))
    return list(checker(obj)) if checker is not None else []


# --- Gateway and ListenerSet --------------------------------------------------------------------


def _listeners(path: str, listeners: Sequence[Listener], owner: str) -> Found:
    for i, listener in enumerate(listeners):
        at = f"{path}[{i}]"
        if listener.protocol in ("HTTP", "TCP", "UDP") and listener.tls is not None:
            yield Violation(
                f"{at}.tls", "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']"
            )
        if (
            listener.protocol == "HTTPS"
            and listener.tls is not None
            and listener.tls.mode != "Terminate"
        ):
            yield Violation(f"{at}.tls.mode", "tls mode must be Terminate for protocol HTTPS")
        if listener.protocol == "TLS" and listener.tls is None:
            yield Violation(f"{at}.tls", "tls mode must be set for protocol TLS")
        if listener.protocol in ("TCP", "UDP") and listener.hostname:
            yield Violation(
                f"{at}.hostname", "hostname must not be specified for protocols ['TCP', 'UDP']"
            )
        if listener.tls is not None:
            yield from _listener_tls(f"{at}.tls", listener.tls)
        if listener.filters is not None:
            if listener.protocol not in ("HTTP", "HTTPS"):
                yield Violation(
                    f"{at}.filters", "filters may only be set when protocol is HTTP or HTTPS"
                )
            for j, f in enumerate(listener.filters.requests):
                yield from _listener_filter(f"{at}.filters.requests[{j}]", f)
    for v in duplicates(path, [listener.name for listener in listeners]):
        yield Violation(f"{v.field}.name", f"Listener name must be unique within the {owner}")
    triples = [(lst.port, lst.protocol, lst.hostname or "") for lst in listeners]
    for v in duplicates(path, triples):
        yield Violation(
            v.field,
            "Combination of port, protocol and hostname must be unique for each listener",
        )


def _listener_filter(path: str, f: ListenerFilter) -> Found:
    yield from filter_members(path, f, LISTENER_MEMBERS)
    if f.external_auth is not None:
        yield from external_auth(f"{path}.externalAuth", f.external_auth)


def _listener_tls(path: str, tls: ListenerTLSConfig) -> Found:
    if tls.mode == "Terminate" and not tls.certificate_refs and not tls.options:
        yield Violation(path, "certificateRefs or options must be specified when mode is Terminate")


def _key_map(path: str, keys: Iterable[str], what: str) -> Found:
    for key in keys:
        if not LABEL_KEY.match(key):
            yield Violation(
                f"{path}[{key}]",
                f"{what} keys must be in the form of an optional DNS subdomain prefix followed "
                "by a required name segment of up to 63 characters.",
            )
        elif len(key.split("/")[0]) >= 253:
            yield Violation(
                f"{path}[{key}]",
                f"If specified, the {what.lower()} key's prefix must be a DNS subdomain not "
                "longer than 253 characters in total.",
            )


def _infrastructure(path: str, infra: GatewayInfrastructure) -> Found:
    yield from _key_map(f"{path}.labels", infra.labels, "Label")
    yield from _key_map(f"{path}.annotations", infra.annotations, "Annotation")


def _gateway(gw: Gateway) -> Found:
    spec = gw.spec
    yield from _listeners("spec.listeners", spec.listeners, "Gateway")
    for i, address in enumerate(spec.addresses):
        if (
            address.type == "Hostname"
            and address.value is not None
            and not HOSTNAME.match(address.value)
        ):
            yield Violation(
                f"spec.addresses[{i}].value",
                "Hostname value must be empty or contain only valid characters (matching "
                r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)",
            )
    for i, address in enumerate(spec.addresses):
        if not routability_valid(address.routability):
            yield Violation(
                f"spec.addresses[{i}].routability",
                "Routability must be empty, Cluster, or an implementation-specific prefixed "
                "path; k8s.io and its subdomains are reserved",
            )
    for kind in ("IPAddress", "Hostname"):
        values = [a.value for a in spec.addresses if a.type == kind and a.value is not None]
        for v in duplicates("spec.addresses", values):
            yield Violation("spec.addresses", f"{kind} values must be unique: {v.message}")
    if spec.infrastructure is not None:
        yield from _infrastructure("spec.infrastructure", spec.infrastructure)
    if spec.tls is not None and spec.tls.frontend is not None:
        frontend = spec.tls.frontend
        yield from _trust_bundle_refs(
            "spec.tls.frontend.default.validation.caCertificateRefs", frontend.default.validation
        )
        for i, per_port in enumerate(frontend.per_port):
            yield from _trust_bundle_refs(
                f"spec.tls.frontend.perPort[{i}].tls.validation.caCertificateRefs",
                per_port.tls.validation,
            )
        ports = [p.port for p in spec.tls.frontend.per_port]
        for v in duplicates("spec.tls.frontend.perPort", ports):
            yield Violation(
                f"{v.field}.port", "Port for TLS configuration must be unique within the Gateway"
            )


def routability_valid(value: str) -> bool:
    """GEP-5093: empty, `Cluster`, or `prefix/path` with a DNS-subdomain prefix that is not
    `k8s.io` or under it."""
    if value in ("", "Cluster"):
        return True
    prefix, slash, rest = value.partition("/")
    return (
        bool(slash and rest)
        and len(prefix) <= 253
        and bool(PRECISE_HOSTNAME.match(prefix))
        and prefix != "k8s.io"
        and not prefix.endswith(".k8s.io")
    )


def _trust_bundle_refs(path: str, validation: FrontendTLSValidation | None) -> Found:
    refs = validation.ca_certificate_refs if validation is not None else ()
    if any(
        (r.group, r.kind) == ("certificates.k8s.io", "ClusterTrustBundle") and r.namespace
        for r in refs
    ):
        yield Violation(path, "ClusterTrustBundle references must not specify namespace")


def _listener_set(ls: ListenerSet) -> Found:
    yield from _listeners("spec.listeners", ls.spec.listeners, "ListenerSet")


# --- BackendTLSPolicy ---------------------------------------------------------------------------


def _backend_tls_policy(policy: BackendTLSPolicy) -> Found:
    spec = policy.spec
    refs = spec.target_refs
    for i, a in enumerate(refs):
        for b in refs[:i]:
            if (a.group, a.kind, a.name) != (b.group, b.kind, b.name):
                continue
            if (a.section_name is None) != (b.section_name is None):
                yield Violation(
                    f"spec.targetRefs[{i}]",
                    "sectionName must be specified when targetRefs includes 2 or more "
                    "references to the same target",
                )
                break
            if a.section_name == b.section_name:
                yield Violation(
                    f"spec.targetRefs[{i}]",
                    "sectionName must be unique when targetRefs includes 2 or more references "
                    "to the same target",
                )
                break
    yield from _tls_validation("spec.validation", spec.validation)


def _tls_validation(path: str, v: BackendTLSPolicyValidation) -> Found:
    # An empty caCertificateRefs counts as absent: v1.6 allowed it next to
    # wellKnownCACertificates (v1.7 asks for at least one item).
    if bool(v.ca_certificate_refs) == bool(v.well_known_ca_certificates):
        yield Violation(
            path,
            "exactly one of the fields in [caCertificateRefs wellKnownCACertificates] must be set",
        )
    for i, san in enumerate(v.subject_alt_names):
        at = f"{path}.subjectAltNames[{i}]"
        if san.type == "Hostname" and not san.hostname:
            yield Violation(
                at, "SubjectAltName element must contain Hostname, if Type is set to Hostname"
            )
        if san.type != "Hostname" and san.hostname:
            yield Violation(
                at,
                "SubjectAltName element must not contain Hostname, if Type is not set to Hostname",
            )
        if san.type == "URI" and not san.uri:
            yield Violation(at, "SubjectAltName element must contain URI, if Type is set to URI")
        if san.type != "URI" and san.uri:
            yield Violation(
                at, "SubjectAltName element must not contain URI, if Type is not set to URI"
            )


# --- XBackend -----------------------------------------------------------------------------------


def _xbackend(backend: XBackend) -> Found:
    spec = backend.spec
    port = spec.port
    if (port.number is None) == (port.port is None):
        yield Violation(
            "spec.port", "exactly one of number (v1.7) and port (v1.6) must be specified"
        )
    for member, type_, present in (
        ("externalHostname", "ExternalHostname", spec.external_hostname is not None),
        ("endpointSelector", "EndpointSelector", spec.endpoint_selector is not None),
    ):
        if present != (spec.type == type_):
            yield Violation(
                f"spec.{member}",
                f"{member} must be set when type is {type_} and must be unset otherwise",
            )
    if spec.endpoint_selector is not None:
        yield from _key_map(
            "spec.endpointSelector.matchLabels", spec.endpoint_selector.match_labels, "Label"
        )
    tls_on = spec.tls.mode != "None"
    if spec.protocol == "H2C" and tls_on:
        yield Violation(
            "spec.tls",
            "tls must be disabled when protocol is H2C, use protocol HTTP2 for HTTP/2 with tls",
        )
    if spec.protocol == "HTTP2" and not tls_on:
        yield Violation(
            "spec.tls",
            "tls must be enabled when protocol is HTTP2, use protocol H2C for HTTP/2 without tls",
        )
    if spec.protocol == "WSS" and not tls_on:
        yield Violation("spec.tls", "tls must be enabled when protocol is WSS")
    if spec.session_persistence is not None:
        if spec.type != "EndpointSelector":
            yield Violation(
                "spec.sessionPersistence",
                "sessionPersistence can only be set when type is EndpointSelector",
            )
        yield from session_persistence("spec.sessionPersistence", spec.session_persistence)
    tls = spec.tls
    if (tls.mode == "ClientAndServer") != (tls.client_certificate_ref is not None):
        yield Violation(
            "spec.tls", "clientCertificateRef must be set if and only if mode is ClientAndServer"
        )
    if (tls.mode == "None") == (tls.validation is not None):
        yield Violation(
            "spec.tls",
            "validation must be set if and only if mode is either ClientAndServer or ServerOnly",
        )
    if tls.validation is not None:
        yield from _tls_validation("spec.tls.validation", tls.validation)
    external = spec.external_hostname
    if external is not None and external.hostname.endswith(".cluster.local"):
        yield Violation(
            "spec.externalHostname.hostname",
            "hostname must not be an IP address or end with .cluster.local",
        )


# --- EndpointSlice ------------------------------------------------------------------------------

_IP_KINDS = {"IPv4": ipaddress.IPv4Address, "IPv6": ipaddress.IPv6Address}


def _endpoint_slice(sl: EndpointSlice) -> Found:
    """The API server's address check: an IPv4 (IPv6) slice holds IPv4 (IPv6) addresses."""
    kind = _IP_KINDS.get(sl.address_type)
    if kind is None:
        return  # FQDN: valid, but not something Envoy can dial (the core skips it)
    for i, ep in enumerate(sl.endpoints):
        for j, address in enumerate(ep.addresses):
            try:
                kind(address)
            except ValueError:
                yield Violation(
                    f"endpoints[{i}].addresses[{j}]",
                    f"Invalid value: {quoted(address)}: must be a valid {sl.address_type} address",
                )


_CHECKS: dict[type[BaseModel], Callable[[Any], Found]] = {
    Gateway: _gateway,
    ListenerSet: _listener_set,
    HTTPRoute: http_route,
    GRPCRoute: grpc_route,
    TLSRoute: tls_route,
    TCPRoute: l4_route,
    UDPRoute: l4_route,
    BackendTLSPolicy: _backend_tls_policy,
    XBackend: _xbackend,
    EndpointSlice: _endpoint_slice,
}
