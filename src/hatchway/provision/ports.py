"""Which container port Envoy binds for each listener port of a Gateway.

Envoy runs as a non-root user, so it cannot bind ports below 1024: the Service keeps the
listener's port and targets an unprivileged container port instead. The mapping is a pure
function of the Gateway's listener ports, so the controller (Service, Deployment) and the xDS
step (where Envoy binds) always agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Ports the proxy Pod uses itself: a listener on one of them is moved like a privileged one.
METRICS_PORT = 19001
RESERVED = frozenset({METRICS_PORT})
PRIVILEGED_BELOW = 1024


@dataclass(frozen=True, order=True)
class ListenerPort:
    port: int
    protocol: str  # "TCP" or "UDP" (the transport, for the Service and container ports)


def container_ports(ports: Iterable[ListenerPort]) -> dict[ListenerPort, int]:
    """Listener port -> container port: itself where Envoy may bind it, else the first free
    port from `port + 10000` (privileged) or `20000 + port % 10000` (reserved) upward. A port
    number listened on over both TCP and UDP maps to one container port."""
    wanted = sorted(set(ports))
    numbers = sorted({lp.port for lp in wanted})
    taken = set(numbers) | RESERVED
    mapped: dict[int, int] = {}
    for port in numbers:
        if port >= PRIVILEGED_BELOW and port not in RESERVED:
            mapped[port] = port
            continue
        candidate = port + 10000 if port < PRIVILEGED_BELOW else 20000 + port % 10000
        while candidate in taken:
            candidate += 1
        taken.add(candidate)
        mapped[port] = candidate
    return {lp: mapped[lp.port] for lp in wanted}
