"""IR assembly: sockets, filter chains, virtual hosts and routes in precedence order.

For HTTP(S), each port gets virtual hosts for every listener hostname and every effective
route hostname; a domain belongs to the most specific listener matching it (listener
isolation, §2.2) and gets the routes attached to that listener whose hostname covers it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from operator import itemgetter

from hatchway.ir import (
    IR,
    FilterChain,
    L4Route,
    Listener,
    Origin,
    Protocol,
    TLSCertificate,
    TLSTermination,
    VirtualHost,
    WeightedBackend,
)
from hatchway.model.refs import ObjectRef
from hatchway.status import ListenerConditionReason, ReportWarning
from hatchway.status.findings import Finding
from hatchway.translate.attach import Attachment, RouteCtx
from hatchway.translate.gatewayctx import GatewayCtx, ListenerCtx, ListenerKey
from hatchway.translate.hostnames import ANY, original_hostname, route_hostname_rank
from hatchway.translate.vhosts import (
    Entry,
    HttpSocket,
    RoutePart,
    Socket,
    covering_patterns,
)


@dataclass
class Assembly:
    ir: IR
    warnings: list[ReportWarning]
    cluster_gateways: dict[str, set[tuple[str, str]]]  # cluster -> Gateways using it
    # What an incremental translation starts from (see `translate.incremental`): the HTTP(S)
    # sockets by name, each route's part of them (by route key), and the sockets in the
    # order of `ir.listeners` (None where a socket produced no listener).
    http_sockets: dict[str, HttpSocket] = field(default_factory=dict)
    parts: dict[ObjectRef, list[tuple[HttpSocket, RoutePart]]] = field(default_factory=dict)
    listener_sockets: list[str] = field(default_factory=list)
    l4_listeners: frozenset[ListenerKey] = frozenset()
    port_warnings: tuple[ReportWarning, ...] = ()  # the part of `warnings` about sockets
    # Listeners whose address and port an older Gateway holds with another protocol.
    unavailable: dict[ListenerKey, tuple[str, str]] = field(default_factory=dict)


class _Builder:
    def __init__(
        self,
        attachments: dict[ListenerKey, list[Attachment]],
        detect_shadowed: bool,
        keep_parts: bool,
    ) -> None:
        self.attachments = attachments
        self.detect_shadowed = detect_shadowed
        self.keep_parts = keep_parts
        self.warnings: dict[tuple[str, str], ReportWarning] = {}
        self.cluster_gateways: dict[str, set[tuple[str, str]]] = defaultdict(set)
        # For incremental translation: every HTTP(S) socket's state, and each route's parts.
        self.http_sockets: dict[str, HttpSocket] = {}
        self.parts: dict[ObjectRef, list[tuple[HttpSocket, RoutePart]]] = defaultdict(list)

    def _use_clusters(self, backends: tuple[WeightedBackend, ...], lc: ListenerCtx) -> None:
        for b in backends:
            if b.cluster is not None:
                self.cluster_gateways[b.cluster].add((lc.gateway.namespace, lc.gateway.name))

    def _warn_once(self, warning: ReportWarning) -> None:
        self.warnings.setdefault((warning.object, warning.message), warning)

    # --- HTTP ----------------------------------------------------------------------------------

    def _virtual_hosts(self, sock: Socket) -> tuple[VirtualHost, ...]:
        """Every route's part of the socket, added up per domain in precedence order."""
        routes: dict[ObjectRef, RouteCtx] = {}
        hosts: dict[ObjectRef, set[str]] = defaultdict(set)
        for lc in sock.listeners:
            for att in self.attachments.get(lc.key, ()):
                key = att.route.key
                routes.setdefault(key, att.route)
                hosts[key].update(att.hostnames)
        hs = HttpSocket(sock, Counter(h for found in hosts.values() for h in found))
        self.http_sockets[sock.name] = hs
        collected: dict[str, list[Entry]] = defaultdict(list)
        for route in routes.values():
            part = hs.part(route)
            if self.keep_parts:
                self.parts[route.key].append((hs, part))
            for domain, entries in part.entries.items():
                collected[domain] += entries
            for cluster, gateway in part.clusters:
                self.cluster_gateways[cluster].add(gateway)
            for w in part.warnings:
                self._warn_once(w)
        for domain, vs in hs.vhosts.items():
            entries = sorted(collected.get(domain, ()), key=_ORDER)
            vs.keys = [k for k, _ in entries]
            vs.routes = [r for _, r in entries]
            hs.build_vhost(vs, self.detect_shadowed)
            for w in vs.shadowed:
                self._warn_once(w)
        return hs.virtual_hosts()

    def http(self, sock: Socket) -> tuple[FilterChain, ...]:
        for lc in sock.listeners:  # the services of its pre-routing filters
            for auth in lc.external_auth:
                if auth.cluster is not None:
                    self.cluster_gateways[auth.cluster].add((lc.gateway.namespace, lc.gateway.name))
        if sock.protocol == "HTTP":
            vhosts = self._virtual_hosts(sock)
            return (
                FilterChain(name=sock.name, listener=sock.listeners[0].owner, virtual_hosts=vhosts),
            )
        groups = [
            (hostname, usable)
            for hostname, group in _by_hostname(sock.listeners)
            # No valid certificate: connections for this SNI are refused.
            if (usable := [lc for lc in group if lc.certificates])
        ]
        if not groups:
            return ()
        vhosts = self._virtual_hosts(sock)
        chains: list[FilterChain] = []
        for hostname, usable in groups:
            certs: dict[str, TLSCertificate] = {}
            for lc in usable:
                for c in lc.certificates:
                    certs.setdefault(c.name, c)
            validation = next((lc.client_validation for lc in usable if lc.client_validation), None)
            chains.append(
                FilterChain(
                    name=f"{sock.name}/{hostname or ANY}",
                    listener=usable[0].owner,
                    server_names=(hostname,) if hostname else (),
                    tls=TLSTermination(tuple(certs.values()), validation),
                    virtual_hosts=vhosts,
                )
            )
        return tuple(chains)

    # --- L4 ------------------------------------------------------------------------------------

    def tls(self, sock: Socket) -> tuple[FilterChain, ...]:
        owners: dict[str, list[ListenerCtx]] = defaultdict(list)
        for lc in sock.listeners:
            owners[lc.hostname or ANY].append(lc)
        domains: set[str] = set()
        for lc in sock.listeners:
            for att in self.attachments.get(lc.key, ()):
                domains.update(att.hostnames)
        chains: list[FilterChain] = []
        for domain in sorted(domains):
            patterns = covering_patterns(domain)
            owner = next((owners[p] for p in patterns if p in owners), None)
            if owner is None:
                continue
            rank = {p: i for i, p in enumerate(patterns)}
            best: tuple[tuple[object, ...], Attachment, ListenerCtx] | None = None
            for lc in owner:
                for att in self.attachments.get(lc.key, ()):
                    covering = sorted((rank[h], h) for h in att.hostnames if h in rank)
                    if not covering:
                        continue
                    # The most specific effective hostname, then the route's own hostname it
                    # came from (GatewayRouteHostnameIntersectionPrecedence), then age.
                    closest, effective = covering[0]
                    own = route_hostname_rank(original_hostname(att.route.hostnames, effective))
                    key = (closest, own, att.route.order)
                    if best is None or key < best[0]:
                        best = (key, att, lc)
            if best is None:
                continue
            _, att, lc = best
            rule = att.route.compiled.rules[0]
            self._use_clusters(rule.backends, lc)
            termination = None
            if lc.tls_mode == "Terminate":
                if not lc.certificates:
                    continue
                termination = TLSTermination(lc.certificates, alpn=())
            chains.append(
                FilterChain(
                    name=f"{sock.name}/{domain}",
                    listener=lc.owner,
                    server_names=() if domain == ANY else (domain,),
                    tls=termination,
                    l4=L4Route(_route_origin(att.route), rule.backends),
                )
            )
        if not any(not c.server_names for c in chains):
            # Unknown SNI (or none): close the connection rather than leave no chain.
            lc0 = sock.listeners[0]
            chains.append(
                FilterChain(name=f"{sock.name}/-", listener=lc0.owner, l4=L4Route(lc0.owner, ()))
            )
        return tuple(chains)

    def l4(self, sock: Socket) -> tuple[FilterChain, ...]:
        atts = [a for lc in sock.listeners for a in self.attachments.get(lc.key, ())]
        lc0 = sock.listeners[0]
        if not atts:
            return (FilterChain(name=sock.name, listener=lc0.owner, l4=L4Route(lc0.owner, ())),)
        # All routes are accepted, the oldest serves (GEP-2644).
        att = min(atts, key=lambda a: a.route.order)
        rule = att.route.compiled.rules[0]
        self._use_clusters(rule.backends, att.listener)
        return (
            FilterChain(
                name=sock.name,
                listener=att.listener.owner,
                l4=L4Route(_route_origin(att.route), rule.backends),
            ),
        )


def _route_origin(route: RouteCtx) -> Origin:
    return Origin(route.kind, route.namespace, route.name, rule=0)


def _by_hostname(listeners: list[ListenerCtx]) -> list[tuple[str | None, list[ListenerCtx]]]:
    groups: dict[str | None, list[ListenerCtx]] = {}
    for lc in listeners:
        groups.setdefault(lc.hostname, []).append(lc)
    return sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))


def _attachments(routes: list[RouteCtx]) -> dict[ListenerKey, list[Attachment]]:
    """Every accepted attachment, by listener, in route order."""
    out: dict[ListenerKey, list[Attachment]] = defaultdict(list)
    for route in routes:
        for pc in route.parents:
            if pc.rejected is None:
                for att in pc.attachments:
                    out[att.listener.key].append(att)
    return out


_ORDER = itemgetter(0)  # an entry's precedence key (compared in C, not by a lambda)
_SocketKey = tuple[str, str, str, int, bool]


@dataclass
class _Sockets:
    """Each configured listener on the socket of its address and port (or why it is not)."""

    by_key: dict[_SocketKey, Socket] = field(default_factory=dict)
    warnings: list[ReportWarning] = field(default_factory=list)
    unavailable: dict[ListenerKey, tuple[str, str]] = field(default_factory=dict)


def _sockets(gateways: list[GatewayCtx], per_gateway: bool) -> _Sockets:
    out = _Sockets()
    for gw in sorted(gateways, key=lambda g: (g.created, g.namespace, g.name)):
        if gw.rejected is not None:
            continue
        for lc in gw.all_listeners():
            if not lc.is_configured:
                continue
            own = (gw.namespace, gw.name) if per_gateway else None
            for address in gw.addresses:
                key = (*(own or ("", "")), address, lc.port, lc.protocol == "UDP")
                sock = out.by_key.get(key)
                if sock is None:
                    sock = out.by_key[key] = Socket(address, lc.port, lc.protocol, gateway=own)
                if sock.protocol == lc.protocol:
                    sock.listeners.append(lc)
                    continue
                # Another (older) Gateway bound this address and port with another
                # protocol: in a cluster each Gateway would get its own address.
                out.unavailable.setdefault(
                    lc.key,
                    (
                        ListenerConditionReason.PORT_UNAVAILABLE,
                        f"{address}:{lc.port} is already used for {sock.protocol} by another "
                        "Gateway",
                    ),
                )
                out.warnings.append(
                    ReportWarning(
                        f"Gateway/{gw.namespace}/{gw.name}",
                        f"listener {lc.name}: {address}:{lc.port} is already used for "
                        f"{sock.protocol} by another Gateway; this listener is not served",
                        Finding.PORT_IN_USE,
                    )
                )
    return out


def _ir_listener(sock: Socket, chains: tuple[FilterChain, ...]) -> Listener:
    contributors = sorted(
        {Origin(lc.owner.kind, lc.owner.namespace, lc.owner.name) for lc in sock.listeners}
    )
    listener_sets = sorted(
        {
            (
                Origin(lc.owner.kind, lc.owner.namespace, lc.owner.name),
                Origin("Gateway", lc.gateway.namespace, lc.gateway.name),
            )
            for lc in sock.listeners
            if lc.owner.kind == "ListenerSet"
        }
    )
    return Listener(
        name=sock.name,
        address=sock.address,
        port=sock.port,
        protocol=Protocol(sock.protocol),
        chains=chains,
        gateways=tuple(contributors),
        listener_sets=tuple(listener_sets),
        owner=sock.gateway,
    )


def assemble(
    gateways: list[GatewayCtx],
    routes: list[RouteCtx],
    detect_shadowed: bool,
    *,
    keep_parts: bool = True,
    per_gateway: bool = False,
) -> Assembly:
    """The IR listeners of `gateways` with `routes` attached. `keep_parts`: keep each
    route's part of each socket in the result (what `translate.incremental` starts from).
    `per_gateway`: every Gateway binds its own sockets (its own data plane), so Gateways
    never share, or compete for, an address and port."""
    found = _sockets(gateways, per_gateway)
    sockets = found.by_key
    builder = _Builder(_attachments(routes), detect_shadowed, keep_parts)
    listeners: list[Listener] = []
    listener_sockets: list[str] = []
    l4_listeners: set[ListenerKey] = set()
    for key in sorted(sockets, key=lambda k: (k[:4], sockets[k].protocol)):
        sock = sockets[key]
        if sock.protocol in ("HTTP", "HTTPS"):
            chains = builder.http(sock)
        else:
            l4_listeners.update(lc.key for lc in sock.listeners)
            chains = builder.tls(sock) if sock.protocol == "TLS" else builder.l4(sock)
        if not chains:
            continue  # e.g. HTTPS without a usable certificate: leave the port closed
        listeners.append(_ir_listener(sock, chains))
        listener_sockets.append(sock.name)
    warnings = [*found.warnings, *builder.warnings.values()]
    return Assembly(
        IR(listeners=tuple(listeners)),
        warnings,
        dict(builder.cluster_gateways),
        builder.http_sockets,
        dict(builder.parts),
        listener_sockets,
        frozenset(l4_listeners),
        tuple(found.warnings),
        found.unavailable,
    )
