"""Per-Gateway addresses for `hatchway controller --gateway-address-pool CIDR`.

Many Gateways listen on the same ports (80, 443), so each Gateway that names no address (or an
`IPAddress` without a value) gets one of its own from the pool. An assignment is stable: kept
while the Gateway exists, and after a controller restart the address the Gateway's status
already reports is taken again when it is in the pool and free; otherwise the address is
chosen from a hash of namespace/name (the next free one on a collision), so it does not
depend on the order Gateways are seen in.

Also here: which requested addresses this host can bind (the translation core cannot probe).
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hatchway.model.gateway import Gateway

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
GatewayKey = tuple[str, str]  # (namespace, name)


def needs_address(gw: Gateway) -> bool:
    """No address asked for, or an `IPAddress` entry left without a value."""
    addresses = gw.spec.addresses
    return not addresses or any(a.type == "IPAddress" and not a.value for a in addresses)


def requested_ips(gw: Gateway) -> list[str]:
    """The `IPAddress` values the Gateway names (valid IPs only, normalised)."""
    out: list[str] = []
    for a in gw.spec.addresses:
        if a.type == "IPAddress" and a.value:
            try:
                out.append(str(ipaddress.ip_address(a.value)))
            except ValueError:
                continue
    return out


@dataclass(frozen=True)
class Request:
    key: GatewayKey
    reported: tuple[str, ...] = ()  # the Gateway's status.addresses values (restart hint)


class AddressPool:
    def __init__(self, cidr: str) -> None:
        self.network = ipaddress.ip_network(cidr, strict=False)
        # The network and broadcast addresses of an IPv4 pool are never handed out.
        self._first = 1 if self.network.num_addresses > 2 else 0
        self._size = self.network.num_addresses - 2 * self._first
        self._assigned: dict[GatewayKey, IP] = {}

    def __contains__(self, ip: IP) -> bool:
        return ip.version == self.network.version and ip in self.network

    def _at(self, index: int) -> IP:
        return self.network[self._first + index % self._size]

    def assign(
        self, requests: Iterable[Request], reserved: Iterable[str] = ()
    ) -> dict[GatewayKey, str]:
        """Addresses for exactly these Gateways (others are released). `reserved`: addresses
        named statically by any Gateway, never handed out."""
        wanted = list(requests)
        keys = {r.key for r in wanted}
        self._assigned = {k: ip for k, ip in self._assigned.items() if k in keys}
        taken: set[IP] = set(self._assigned.values())
        for value in reserved:
            taken.add(ipaddress.ip_address(value))
        new = [r for r in wanted if r.key not in self._assigned]
        # Addresses reported before a restart first, so a later newcomer cannot take them.
        later: list[Request] = []
        for r in new:
            reuse = next((ip for ip in _ips(r.reported) if ip in self and ip not in taken), None)
            if reuse is None:
                later.append(r)
                continue
            self._assigned[r.key] = reuse
            taken.add(reuse)
        for r in sorted(later, key=lambda r: r.key):
            digest = hashlib.sha256(f"{r.key[0]}/{r.key[1]}".encode()).digest()
            start = int.from_bytes(digest[:8], "big")
            free = (self._at(start + i) for i in range(self._size))
            ip = next((c for c in free if c not in taken), None)
            if ip is None:
                break  # pool exhausted: the rest fall back to the bind address
            self._assigned[r.key] = ip
            taken.add(ip)
        return {k: str(ip) for k, ip in self._assigned.items()}


def _ips(values: Iterable[str]) -> list[IP]:
    out: list[IP] = []
    for v in values:
        try:
            out.append(ipaddress.ip_address(v))
        except ValueError:
            continue
    return out


def bindable(value: str) -> bool:
    """Whether a listener could bind `value` here: it belongs to this host (or the kernel
    allows non-local binds)."""
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return False
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((str(ip), 0))
        except OSError:
            return False
    return True


def reported_addresses(body: Mapping[str, object] | None) -> tuple[str, ...]:
    """`status.addresses[].value` of a Gateway body from the cache."""
    status = (body or {}).get("status")
    entries = status.get("addresses") if isinstance(status, dict) else None
    if not isinstance(entries, list):
        return ()
    return tuple(str(e["value"]) for e in entries if isinstance(e, dict) and e.get("value"))
