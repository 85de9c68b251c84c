"""Per-Pod network namespaces joined by a bridge on a private subnet the runner owns.

Each Pod gets what a CNI plugin would give it: its own namespace (the echo server binds
`:3000` on every address, so two replicas cannot share one), a veth into a host bridge and an
address of the subnet. The host keeps the subnet's first address on the bridge, so Envoy, which
runs in the host namespace, reaches every Pod directly; nothing is forwarded or NATed.
"""

from __future__ import annotations

import ipaddress
import subprocess
from dataclasses import dataclass


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _ip_quiet(*args: str) -> None:
    subprocess.run(["ip", *args], check=False, capture_output=True, text=True)


@dataclass
class PodNet:
    netns: str
    address: str


class Bridge:
    """The host side: a bridge with the gateway address, and a pool of Pod addresses."""

    def __init__(self, subnet: str, name: str = "hwconf0", prefix: str = "hwconf") -> None:
        self.subnet = ipaddress.ip_network(subnet)
        self.name = name
        self.prefix = prefix
        self._hosts = self.subnet.hosts()
        self.gateway = str(next(self._hosts))
        # Handed out in order: an address is not reused within one run, so a stale
        # EndpointSlice can never point at another Pod.
        self._next = str(next(self._hosts))
        self._count = 0

    def up(self) -> None:
        self.down()
        _ip("link", "add", self.name, "type", "bridge")
        _ip("addr", "add", f"{self.gateway}/{self.subnet.prefixlen}", "dev", self.name)
        _ip("link", "set", self.name, "up")

    def down(self) -> None:
        out = subprocess.run(
            ["ip", "netns", "list"], check=False, capture_output=True, text=True
        ).stdout
        for line in out.splitlines():
            name = line.split()[0] if line.split() else ""
            if name.startswith(f"{self.prefix}-"):
                _ip_quiet("netns", "del", name)
        _ip_quiet("link", "del", self.name)

    def peek(self) -> str:
        """The address the next `attach` hands out."""
        return self._next

    def attach(self) -> PodNet:
        """A fresh namespace with an address of the subnet, its default route via the bridge."""
        self._count += 1
        address = self._next
        self._next = str(next(self._hosts))
        ns = f"{self.prefix}-{self._count}"
        veth = f"{self.prefix}v{self._count}"
        _ip("netns", "add", ns)
        _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        _ip("link", "set", veth, "master", self.name, "up")
        _ip("-n", ns, "addr", "add", f"{address}/{self.subnet.prefixlen}", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "route", "add", "default", "via", self.gateway)
        return PodNet(ns, address)

    def detach(self, net: PodNet) -> None:
        # Deleting the namespace deletes its veth end, and with it the host end.
        _ip_quiet("netns", "del", net.netns)
