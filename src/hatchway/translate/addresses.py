"""A Gateway's addresses (§2.6) and their routability (GEP-5093): which `spec.addresses`
entries are satisfied, with what address and routability, and why the others are not.

Routability values Hatchway supports:
- "" (or unset): the runtime's default address, or the static IP asked for; reported "";
- `testing.x-k8s.io/sentinel` (reserved for conformance): as "", reported as asked;
- `Cluster`: a ClusterIP of the Service in front of the Gateway's Envoy, in the cluster's
  ServiceCIDR — only the controller knows them (`Settings.cluster_ips`,
  `Settings.service_cidrs`); listeners still bind where they would (the ClusterIP reaches
  them through the Service); standalone mode has no cluster, so there it is never satisfied;
- anything else (another `prefix/value`, other `testing.x-k8s.io/` values): not supported,
  the entry stays unsatisfied (never another scope in its place).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from hatchway.model.gateway import Gateway, GatewaySpecAddress
from hatchway.translate.settings import GatewayAddresses, Settings

SENTINEL = "testing.x-k8s.io/sentinel"
CLUSTER = "Cluster"

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Assigned:
    value: str  # reported in status
    routability: str
    bind: str  # where the listeners bind for it (a ClusterIP is reached through its Service)
    type: str = "IPAddress"


@dataclass
class Addresses:
    """The outcome for one Gateway."""

    assigned: list[Assigned] = field(default_factory=list)
    unsupported_type: str | None = None  # Accepted=False/UnsupportedAddress
    unusable: list[str] = field(default_factory=list)  # Programmed=False/AddressNotUsable
    unsatisfied: list[str] = field(default_factory=list)  # every entry not satisfied, why
    requested: int = 0  # spec.addresses entries

    @property
    def binds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.bind for a in self.assigned))


def _usable(ip: IP, usable: tuple[str, ...]) -> bool:
    return any(ip in ipaddress.ip_network(net, strict=False) for net in usable)


def _in_cidrs(value: str, cidrs: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return False
    return any(
        ip.version == net.version and ip in net
        for net in (ipaddress.ip_network(c, strict=False) for c in cidrs)
    )


class _Assigner:
    def __init__(self, gw: Gateway, settings: Settings) -> None:
        key = (gw.metadata.namespace, gw.metadata.name)
        self.settings = settings
        self.default = settings.assigned_addresses.get(key, settings.bind_address)
        self.cluster_ips = tuple(settings.cluster_ips.get(key, ()))
        self.out = Addresses(requested=len(gw.spec.addresses))

    def take(self, value: str, routability: str, bind: str | None = None) -> None:
        if all(a.value != value for a in self.out.assigned):
            self.out.assigned.append(Assigned(value, routability, bind or value))

    def entry(self, i: int, addr: GatewaySpecAddress) -> None:
        what = f"spec.addresses[{i}]"
        if addr.type != "IPAddress":
            self.out.unsupported_type = (
                f"address type {addr.type!r} is not supported (only IPAddress)"
            )
            self.out.unsatisfied.append(f"{what}: type {addr.type} is not supported")
            return
        r = addr.routability
        if r == CLUSTER:
            self._cluster(what, addr.value)
        elif r in ("", SENTINEL):
            self._plain(what, addr.value, r)
        else:
            self.out.unsatisfied.append(f"{what}: routability {r!r} is not supported")

    def _plain(self, what: str, value: str | None, routability: str) -> None:
        if not value:
            self.take(self.default, routability)
            return
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            problem = f"address {value!r} is not an IP address"
        else:
            usable = self.settings.usable_addresses
            if usable is None or _usable(ip, usable):
                self.take(str(ip), routability)
                return
            problem = f"address {value} is not an address of this host"
        self.out.unusable.append(problem)
        self.out.unsatisfied.append(f"{what}: {problem}")

    def _cluster(self, what: str, value: str | None) -> None:
        cidrs = self.settings.service_cidrs
        if not cidrs:
            self.out.unsatisfied.append(
                f"{what}: routability Cluster needs a Kubernetes ServiceCIDR "
                "(controller mode); none is known here"
            )
            return
        if value:
            if not _in_cidrs(value, cidrs) or value not in self.cluster_ips:
                self.out.unsatisfied.append(
                    f"{what}: {value} is not a ClusterIP of this Gateway's Service "
                    f"(ServiceCIDR {', '.join(cidrs)})"
                )
                return
            self.take(value, CLUSTER, self.default)
            return
        taken = {a.value for a in self.out.assigned}
        free = [ip for ip in self.cluster_ips if ip not in taken and _in_cidrs(ip, cidrs)]
        if not free:
            self.out.unsatisfied.append(
                f"{what}: no ClusterIP is available for this Gateway (the controller reports "
                "the ClusterIP of the Service in front of Envoy: --envoy-service)"
            )
            return
        self.take(free[0], CLUSTER, self.default)


def assign_addresses(gw: Gateway, settings: Settings) -> Addresses:
    """Each `spec.addresses` entry evaluated on its own; with none, the default address."""
    assigner = _Assigner(gw, settings)
    for i, addr in enumerate(gw.spec.addresses):
        assigner.entry(i, addr)
    out = assigner.out
    unsupported = sum(1 for a in gw.spec.addresses if a.type != "IPAddress")
    if not out.assigned and len(out.unsatisfied) == unsupported:
        # No entry, or only address types we do not support (the Gateway is then not
        # accepted and serves nothing): the default address.
        assigner.take(assigner.default, "")
    return out


def known_addresses(gw: Gateway, known: GatewayAddresses, settings: Settings) -> Addresses:
    """The same outcome for a Gateway whose addresses the edge reports (a provisioned data
    plane: reached at its Service's load balancer, and inside the cluster at its ClusterIP).
    A plain entry is satisfied by a load balancer address (the one it names, if any), a
    `Cluster` entry by the Service's ClusterIP; with entries, status holds exactly one address
    per satisfied entry (GEP-5093), without any, the load balancer's (routability "")."""
    if not gw.spec.addresses:
        r = known.routability
        return Addresses(assigned=[Assigned(v, r, "0.0.0.0", t) for t, v in known.reported])
    assigner = _Assigner(gw, settings)
    out = assigner.out
    reported = {v: t for t, v in known.reported}
    for i, addr in enumerate(gw.spec.addresses):
        what = f"spec.addresses[{i}]"
        r = addr.routability
        free = [v for v in reported if all(a.value != v for a in out.assigned)]
        if addr.type not in ("IPAddress", "Hostname"):
            out.unsupported_type = (
                f"address type {addr.type!r} is not supported (IPAddress, Hostname)"
            )
            out.unsatisfied.append(f"{what}: type {addr.type} is not supported")
        elif r == CLUSTER and addr.type == "IPAddress":
            assigner._cluster(what, addr.value)
        elif r not in ("", SENTINEL):
            out.unsatisfied.append(f"{what}: routability {r!r} is not supported")
        elif addr.value in free or (not addr.value and free):
            value = addr.value or free[0]
            out.assigned.append(Assigned(value, r, "0.0.0.0", reported[value]))
        else:
            why = known.pending or (
                f"the load balancer did not assign {addr.value}"
                if addr.value
                else "the load balancer has no other address"
            )
            out.unsatisfied.append(f"{what}: {why}")
    return out
