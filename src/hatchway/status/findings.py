"""What a report warning is about, and how much it matters.

A warning is a finding outside the spec's conditions: either about objects that get no status
from us at all (a Gateway of an unknown class, a route whose parent does not exist), or a
plainer second word for a condition (a backend Service that does not exist). Each has a stable
code scripts can match on, and a severity:

- `error`: some of the input will not serve; `hatchway status --check` fails on it;
- `warning`: serves, but likely not as meant (a rule that can never match);
- `info`: left alone on purpose (a Gateway of another controller's class).
"""

from __future__ import annotations

from enum import StrEnum


class Finding(StrEnum):
    UNKNOWN_GATEWAY_CLASS = "UnknownGatewayClass"
    PARENT_NOT_FOUND = "ParentNotFound"
    LISTENER_NOT_FOUND = "ListenerNotFound"
    SERVICE_NOT_FOUND = "ServiceNotFound"
    SECRET_NOT_FOUND = "SecretNotFound"
    NOTHING_SERVED = "NothingServed"
    PORT_IN_USE = "PortInUse"
    INTERNAL_ERROR = "InternalError"
    HOSTNAME_NEVER_ROUTED = "HostnameNeverRouted"
    SHADOWED_RULE = "ShadowedRule"
    CERTIFICATE_TIME = "CertificateNotValidNow"
    ENDPOINTS_SKIPPED = "EndpointsSkipped"
    OTHER_CONTROLLER = "OtherController"


# Each finding's severity, with why it has it (docs/reference.md lists the same table).
SEVERITY: dict[Finding, tuple[str, str]] = {
    Finding.UNKNOWN_GATEWAY_CLASS: (
        "error",
        "the Gateway names a GatewayClass that does not exist",
    ),
    Finding.PARENT_NOT_FOUND: ("error", "a route's parent Gateway/ListenerSet does not exist"),
    Finding.LISTENER_NOT_FOUND: ("error", "a parentRef's sectionName/port names no listener"),
    Finding.SERVICE_NOT_FOUND: ("error", "a backendRef names a Service that does not exist"),
    Finding.SECRET_NOT_FOUND: ("error", "a certificateRef names a Secret that does not exist"),
    Finding.NOTHING_SERVED: ("error", "no listener of any Gateway is served"),
    Finding.PORT_IN_USE: ("error", "another Gateway holds the listener's address and port"),
    Finding.INTERNAL_ERROR: ("error", "translating the object failed; it is left out"),
    Finding.HOSTNAME_NEVER_ROUTED: (
        "warning",
        "a more specific listener takes that hostname's traffic",
    ),
    Finding.SHADOWED_RULE: ("warning", "a higher-precedence rule always matches first"),
    Finding.CERTIFICATE_TIME: (
        "warning",
        "a certificate in use has expired or is not valid yet: served, clients refuse it",
    ),
    Finding.ENDPOINTS_SKIPPED: (
        "warning",
        "an EndpointSlice's addresses cannot be used (FQDN, not IPs): those endpoints are skipped",
    ),
    Finding.OTHER_CONTROLLER: ("info", "another controller's GatewayClass: not ours to serve"),
}


def severity(code: str) -> str:
    """`error`, `warning` or `info` (an unknown code counts as an error: fail safe)."""
    entry = SEVERITY.get(code)  # type: ignore[call-overload]  # a StrEnum key equals its str
    return entry[0] if entry else "error"


def blocks(code: str) -> bool:
    """Whether a finding with this code means some of the input will not serve."""
    return severity(code) == "error"
