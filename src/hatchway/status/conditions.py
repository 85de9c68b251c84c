"""Condition types and reasons, named exactly as Gateway API v1.7.0 names them.

Conditions here carry no `lastTransitionTime`: the core is pure and has no clock. The edge
that writes status (runtime/sources) adds it when it merges with what is already stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hatchway.ir.frozen import quick_init


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class GatewayClassConditionType(StrEnum):
    ACCEPTED = "Accepted"
    SUPPORTED_VERSION = "SupportedVersion"


class GatewayClassConditionReason(StrEnum):
    ACCEPTED = "Accepted"
    INVALID_PARAMETERS = "InvalidParameters"
    UNSUPPORTED = "Unsupported"
    UNSUPPORTED_VERSION = "UnsupportedVersion"
    PENDING = "Pending"
    SUPPORTED_VERSION = "SupportedVersion"


class GatewayConditionType(StrEnum):
    ACCEPTED = "Accepted"
    PROGRAMMED = "Programmed"
    RESOLVED_REFS = "ResolvedRefs"
    INSECURE_FRONTEND_VALIDATION_MODE = "InsecureFrontendValidationMode"
    ADDRESSES_ASSIGNED = "AddressesAssigned"  # GEP-5093


class GatewayConditionReason(StrEnum):
    ACCEPTED = "Accepted"
    LISTENERS_NOT_VALID = "ListenersNotValid"
    INVALID = "Invalid"
    INVALID_PARAMETERS = "InvalidParameters"
    UNSUPPORTED_ADDRESS = "UnsupportedAddress"
    PROGRAMMED = "Programmed"
    PENDING = "Pending"
    NO_RESOURCES = "NoResources"
    ADDRESS_NOT_ASSIGNED = "AddressNotAssigned"
    ADDRESS_NOT_USABLE = "AddressNotUsable"
    RESOLVED_REFS = "ResolvedRefs"
    REF_NOT_PERMITTED = "RefNotPermitted"
    INVALID_CLIENT_CERTIFICATE_REF = "InvalidClientCertificateRef"
    LISTENERS_NOT_RESOLVED = "ListenersNotResolved"
    CONFIGURATION_CHANGED = "ConfigurationChanged"
    ADDRESSES_ASSIGNED = "AddressesAssigned"
    PARTIALLY_ASSIGNED = "PartiallyAssigned"
    NOT_ASSIGNED = "NotAssigned"


class ListenerConditionType(StrEnum):
    ACCEPTED = "Accepted"
    CONFLICTED = "Conflicted"
    RESOLVED_REFS = "ResolvedRefs"
    PROGRAMMED = "Programmed"
    OVERLAPPING_TLS_CONFIG = "OverlappingTLSConfig"


class ListenerConditionReason(StrEnum):
    ACCEPTED = "Accepted"
    PORT_UNAVAILABLE = "PortUnavailable"
    UNSUPPORTED_PROTOCOL = "UnsupportedProtocol"
    NO_VALID_CA_CERTIFICATE = "NoValidCACertificate"
    UNSUPPORTED_VALUE = "UnsupportedValue"
    HOSTNAME_CONFLICT = "HostnameConflict"
    PROTOCOL_CONFLICT = "ProtocolConflict"
    LISTENER_CONFLICT = "ListenerConflict"  # ListenerSet entries only
    NO_CONFLICTS = "NoConflicts"
    RESOLVED_REFS = "ResolvedRefs"
    INVALID_CERTIFICATE_REF = "InvalidCertificateRef"
    INVALID_ROUTE_KINDS = "InvalidRouteKinds"
    REF_NOT_PERMITTED = "RefNotPermitted"
    INVALID_CA_CERTIFICATE_REF = "InvalidCACertificateRef"
    INVALID_CA_CERTIFICATE_KIND = "InvalidCACertificateKind"
    PROGRAMMED = "Programmed"
    INVALID = "Invalid"
    PENDING = "Pending"
    OVERLAPPING_HOSTNAMES = "OverlappingHostnames"
    OVERLAPPING_CERTIFICATES = "OverlappingCertificates"
    # GEP-5224 pre-routing filters
    INVALID_LISTENER_FILTER = "InvalidListenerFilter"
    INVALID_LISTENER_FILTER_ORDER = "InvalidListenerFilterOrder"
    INVALID_LISTENER_FILTER_REF = "InvalidListenerFilterRef"


class ListenerSetConditionType(StrEnum):
    ACCEPTED = "Accepted"
    PROGRAMMED = "Programmed"


class ListenerSetConditionReason(StrEnum):
    ACCEPTED = "Accepted"
    PROGRAMMED = "Programmed"
    NOT_ALLOWED = "NotAllowed"
    PARENT_NOT_ACCEPTED = "ParentNotAccepted"
    PARENT_NOT_PROGRAMMED = "ParentNotProgrammed"
    LISTENERS_NOT_VALID = "ListenersNotValid"
    INVALID = "Invalid"
    PENDING = "Pending"


class RouteConditionType(StrEnum):
    ACCEPTED = "Accepted"
    RESOLVED_REFS = "ResolvedRefs"
    PARTIALLY_INVALID = "PartiallyInvalid"


class RouteConditionReason(StrEnum):
    ACCEPTED = "Accepted"
    NOT_ALLOWED_BY_LISTENERS = "NotAllowedByListeners"
    NO_MATCHING_LISTENER_HOSTNAME = "NoMatchingListenerHostname"
    NO_MATCHING_PARENT = "NoMatchingParent"
    UNSUPPORTED_VALUE = "UnsupportedValue"
    INCOMPATIBLE_FILTERS = "IncompatibleFilters"
    PENDING = "Pending"
    RESOLVED_REFS = "ResolvedRefs"
    REF_NOT_PERMITTED = "RefNotPermitted"
    INVALID_KIND = "InvalidKind"
    BACKEND_NOT_FOUND = "BackendNotFound"
    UNSUPPORTED_PROTOCOL = "UnsupportedProtocol"


class PolicyConditionType(StrEnum):
    ACCEPTED = "Accepted"
    RESOLVED_REFS = "ResolvedRefs"


class PolicyConditionReason(StrEnum):
    ACCEPTED = "Accepted"
    CONFLICTED = "Conflicted"
    INVALID = "Invalid"
    TARGET_NOT_FOUND = "TargetNotFound"
    NO_VALID_CA_CERTIFICATE = "NoValidCACertificate"
    RESOLVED_REFS = "ResolvedRefs"
    INVALID_CA_CERTIFICATE_REF = "InvalidCACertificateRef"
    INVALID_KIND = "InvalidKind"


@quick_init
@dataclass(frozen=True, slots=True)
class Condition:
    """A status condition as the core decides it; the edge adds `lastTransitionTime`."""

    type: str
    status: ConditionStatus
    reason: str
    message: str
    observed_generation: int

    @property
    def is_true(self) -> bool:
        return self.status is ConditionStatus.TRUE


def condition(
    type_: StrEnum | str,
    ok: bool,
    reason: StrEnum | str,
    message: str,
    generation: int,
) -> Condition:
    """Build a True/False condition; enum members are stored as their plain string value."""
    status = ConditionStatus.TRUE if ok else ConditionStatus.FALSE
    # By position, in field order: built for every route and listener on each translation.
    return Condition(str(type_), status, str(reason), message, generation)
