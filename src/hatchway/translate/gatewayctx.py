"""The contexts of one translation's Gateways, ListenerSets and listeners.

Built once by `translate.listeners.build_gateways` and read-only afterwards: what happens to a
listener later in the translation (routes attached to it, a port another Gateway holds) is
kept beside it, keyed by `ListenerCtx.key` (see `translate.gateway_status.ListenerOutcome`),
so the contexts of one translation can serve the next one unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hatchway.ir import ClientValidation, ExternalAuth, Origin, TLSCertificate
from hatchway.model.gateway import Gateway, Listener, ListenerSet
from hatchway.model.meta import GATEWAY_GROUP
from hatchway.translate.addresses import Addresses
from hatchway.translate.index import Index
from hatchway.translate.pem import Validity
from hatchway.translate.selectors import selector_matches

GW_API = f"{GATEWAY_GROUP}/v1"
TCP_FAMILY = {"HTTP", "HTTPS", "TLS", "TCP"}

# A listener: its Gateway or ListenerSet (kind, namespace, name), its name, and its place in
# the list.
ListenerKey = tuple[str, str, str, str, int]

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
    rejected: tuple[str, str] | None = None  # Accepted=False: (reason, message)
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
    external_auth: tuple[ExternalAuth, ...] = ()  # its pre-routing filters, in order
    position: int = 0  # in its Gateway's or ListenerSet's list (names may repeat in files)
    # Who it is in the API's terms: maps within a translation are keyed by this. Plain strings
    # (hashed in C, and once): it is looked up for every attachment.
    key: ListenerKey = field(init=False)

    def __post_init__(self) -> None:
        o = self.owner
        self.key = (o.kind, o.namespace, o.name, o.section or "", self.position)

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
        return self.rejected is None and self.conflict is None

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
    listeners: list[ListenerCtx] = field(default_factory=list)  # own listeners
    listener_sets: list[ListenerSetCtx] = field(default_factory=list)
    rejected: tuple[str, str] | None = None  # Gateway-level Accepted=False: (reason, message)
    programmed: tuple[str, str] | None = None
    resolved: tuple[str, str] | None = None
    insecure_frontend: bool = False
    client_cert: tuple[str, str] | None = None  # (cert pem, key pem) for backend TLS
    address_outcome: Addresses | None = None
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
        return self.rejected is None and any(lc.is_ready for lc in self.listeners)
