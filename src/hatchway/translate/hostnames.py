"""Hostname patterns: matching, intersection (spec §3.3) and specificity ranking (§2.2, §4.2).

A pattern is an exact host (`a.example.com`), a suffix wildcard (`*.example.com`, matching one
or more extra labels, never the bare suffix) or `*` (anything: a listener or route without
hostnames).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ANY = "*"

_HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def is_wildcard(pattern: str) -> bool:
    return pattern == ANY or pattern.startswith("*.")


def is_valid_hostname(value: str) -> bool:
    """The CRD `Hostname` type: lower-case RFC 1123, optional leading `*.`, no IP addresses."""
    return len(value) <= 253 and bool(_HOSTNAME.match(value)) and not _IPV4.match(value)


def matches(pattern: str, host: str) -> bool:
    """Whether the concrete `host` (no port) is matched by `pattern`."""
    if pattern == ANY:
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return pattern == host


def covers(pattern: str, other: str) -> bool:
    """Whether every host matched by `other` is also matched by `pattern`."""
    if pattern == ANY:
        return True
    if other == ANY:
        return False
    if pattern.startswith("*."):
        suffix = pattern[1:]  # `.example.com`
        if other.startswith("*."):
            return other == pattern or other[1:].endswith(suffix)
        return other.endswith(suffix) and len(other) > len(suffix)
    return pattern == other


def intersect(a: str, b: str) -> str | None:
    """The narrower of two patterns when one contains the other, else None.

    Suffix wildcards either nest or are disjoint, so the intersection of two patterns is
    always one of them.
    """
    if covers(a, b):
        return b
    if covers(b, a):
        return a
    return None


def effective_hostnames(listener: str | None, route: Iterable[str]) -> tuple[str, ...]:
    """Route hostnames narrowed to a listener's hostname (§3.3), deduplicated, input order.

    `()` means the route does not attach to this listener; `("*",)` means every host.
    """
    route_hosts = tuple(dict.fromkeys(route))
    if listener is None:
        return route_hosts or (ANY,)
    if not route_hosts:
        return (listener,)
    out: dict[str, None] = {}
    for host in route_hosts:
        narrowed = intersect(listener, host)
        if narrowed is not None:
            out[narrowed] = None
    return tuple(out)


def listener_rank(hostname: str | None) -> tuple[int, int, str]:
    """Sort key, most specific first: exact > longer wildcard > shorter wildcard > none."""
    if hostname is None or hostname == ANY:
        return (2, 0, "")
    if hostname.startswith("*."):
        return (1, -hostname.count("."), hostname)
    return (0, 0, hostname)


def route_hostname_rank(hostname: str) -> tuple[int, int]:
    """§4.2 step 1, ascending = wins: longest non-wildcard hostname, then longest hostname."""
    exact_len = 0 if is_wildcard(hostname) else len(hostname)
    return (-exact_len, -len(hostname if hostname != ANY else ""))


def original_hostname(route: Iterable[str], effective: str) -> str:
    """The most specific of a route's own hostnames that yields `effective` on a listener
    (itself, or a wider one narrowed to the listener's); `*` for a route without hostnames."""
    found = [h for h in route if h == effective or covers(h, effective)]
    return min(found, key=route_hostname_rank, default=ANY)


def overlaps(a: str | None, b: str | None) -> bool:
    """Whether two listener hostnames (None = any) can both match some host."""
    return intersect(a or ANY, b or ANY) is not None
