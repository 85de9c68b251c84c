"""Per-Pod network namespaces on the node's bridge (what a CNI plugin would give a Pod).

The node is a network namespace of the rig's own (hack/k8s/nodenet.sh) holding the bridge
`cbr0` with the subnet's first address; the host routes the subnet into it. Each Pod gets its
own namespace (two echo servers both bind :3000), a veth pair whose node end joins the bridge
(hairpin on, so a Pod reaches itself through a Service), an address of the subnet and a default
route via the bridge.
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
    """The node side: the bridge in the node namespace, and a pool of Pod addresses."""

    def __init__(self, subnet: str, node_netns: str, prefix: str, name: str = "cbr0") -> None:
        self.subnet = ipaddress.ip_network(subnet)
        self.node_netns = node_netns
        self.name = name
        self.prefix = prefix
        self._hosts = self.subnet.hosts()
        self.gateway = str(next(self._hosts))
        # Handed out in order: an address is not reused within one run, so a stale
        # EndpointSlice can never point at another Pod.
        self._next = str(next(self._hosts))
        self._count = 0

    def up(self) -> None:
        """Check the node's bridge is there; remove Pod namespaces a previous run left."""
        self.down()
        _ip("-n", self.node_netns, "link", "show", self.name)

    def down(self) -> None:
        out = subprocess.run(
            ["ip", "netns", "list"], check=False, capture_output=True, text=True
        ).stdout
        for line in out.splitlines():
            name = line.split()[0] if line.split() else ""
            if name.startswith(self.prefix):
                _ip_quiet("netns", "del", name)

    def peek(self) -> str:
        """The address the next `attach` hands out."""
        return self._next

    def attach(self) -> PodNet:
        """A fresh namespace with an address of the subnet, its default route via the bridge."""
        self._count += 1
        address = self._next
        self._next = str(next(self._hosts))
        ns = f"{self.prefix}{self._count}"
        veth = f"vp{self._count}"
        node = ("-n", self.node_netns)
        _ip("netns", "add", ns)
        _ip(*node, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        _ip(*node, "link", "set", veth, "master", self.name, "up")
        _ip(*node, "link", "set", veth, "type", "bridge_slave", "hairpin", "on")
        _ip("-n", ns, "addr", "add", f"{address}/{self.subnet.prefixlen}", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "route", "add", "default", "via", self.gateway)
        return PodNet(ns, address)

    def detach(self, net: PodNet) -> None:
        # Deleting the namespace deletes its veth end, and with it the node's end.
        _ip_quiet("netns", "del", net.netns)
