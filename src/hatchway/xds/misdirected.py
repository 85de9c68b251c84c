"""Misdirected requests on HTTPS (GEP-3567, GatewayHTTPSListenerDetectMisdirectedRequests).

Every SNI filter chain of a port sees the virtual hosts of all its Gateway listeners (HTTP/2
connection coalescing lets a client reuse one connection for several hosts). A request whose
Host belongs to another listener than the one its SNI selected gets 421, so the client retries
on a fresh connection. Envoy picks virtual hosts exact > longest `*.suffix` > `*`, the same
order as Gateway listener specificity, so one virtual host per listener hostname decides it.
"""

from __future__ import annotations

from typing import Any

from hatchway.ir import FilterChain, Listener, Protocol, VirtualHost

MISDIRECTED_STATUS = 421


def is_misdirected(listener: Listener, chain: FilterChain, vh: VirtualHost) -> bool:
    """True when `vh` belongs to another Gateway listener than the chain's (HTTPS only)."""
    return listener.protocol is Protocol.HTTPS and vh.listener != chain.listener


def listener_host_patterns(
    listener: Listener, chain: FilterChain, vhosts: tuple[VirtualHost, ...]
) -> list[tuple[str, bool]]:
    """Virtual host domains to add to an HTTPS chain: each listener hostname (`*` for the
    catch-all) that no IR virtual host covers, with whether it is misdirected there. The
    chain's own hostname gets an empty virtual host (404) so that a Host it owns but no route
    serves is not caught by a broader listener's 421."""
    if listener.protocol is not Protocol.HTTPS:
        return []
    have = {vh.domain for vh in vhosts}
    out: list[tuple[str, bool]] = []
    for other in listener.chains:
        pattern = other.server_names[0] if other.server_names else "*"
        if pattern in have:
            continue
        have.add(pattern)
        out.append((pattern, other.listener != chain.listener))
    return out


def fill_misdirected_route(r: Any) -> None:
    # No name: the access log's `route` is null, as for a request no route matched.
    r.match.prefix = "/"
    r.direct_response.status = MISDIRECTED_STATUS
