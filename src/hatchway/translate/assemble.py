"""IR assembly: sockets, filter chains, virtual hosts and routes in precedence order.

For HTTP(S), each port gets virtual hosts for every listener hostname and every effective
route hostname; a domain belongs to the most specific listener matching it (listener
isolation, §2.2) and gets the routes attached to that listener whose hostname covers it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from hatchway.ir import (
    IR,
    FilterChain,
    L4Route,
    Listener,
    Origin,
    Protocol,
    Route,
    TLSCertificate,
    TLSTermination,
    VirtualHost,
    WeightedBackend,
)
from hatchway.status import ListenerConditionReason, ReportWarning
from hatchway.translate.attach import Attachment, RouteCtx
from hatchway.translate.hostnames import ANY, route_hostname_rank
from hatchway.translate.listeners import GatewayCtx, ListenerCtx
from hatchway.translate.precedence import RouteOrderKey
from hatchway.translate.rules import CompiledRule, IRRouteEntry
from hatchway.translate.shadowing import find_shadowed


def covering_patterns(domain: str) -> list[str]:
    """Every pattern that covers `domain`, most specific first (itself, wider wildcards, `*`)."""
    if domain == ANY:
        return [ANY]
    out = [domain]
    labels = domain.split(".")
    start = 1  # `*.b.c` for `a.b.c`; for `*.b.c` itself the next is `*.c`
    for i in range(start, len(labels)):
        pattern = "*." + ".".join(labels[i:])
        if pattern != domain:
            out.append(pattern)
    out.append(ANY)
    return out


@dataclass(eq=False)
class Socket:
    address: str
    port: int
    protocol: str
    listeners: list[ListenerCtx] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.protocol.lower()}/{self.address}/{self.port}"


@dataclass
class Assembly:
    ir: IR
    warnings: list[ReportWarning]
    cluster_gateways: dict[str, set[tuple[str, str]]]  # cluster -> Gateways using it


class _Builder:
    def __init__(self, attachments: dict[int, list[Attachment]], detect_shadowed: bool) -> None:
        self.attachments = attachments
        self.detect_shadowed = detect_shadowed
        self.warnings: dict[tuple[str, str], ReportWarning] = {}
        self.cluster_gateways: dict[str, set[tuple[str, str]]] = defaultdict(set)
        self._host_index: dict[int, dict[str, list[Attachment]]] = {}

    def _by_hostname(self, lc: ListenerCtx) -> dict[str, list[Attachment]]:
        """The listener's attachments indexed by each of their effective hostnames."""
        index = self._host_index.get(id(lc))
        if index is None:
            index = defaultdict(list)
            for att in self.attachments.get(id(lc), ()):
                for h in att.hostnames:
                    index[h].append(att)
            self._host_index[id(lc)] = index
        return index

    def _use_clusters(self, backends: tuple[WeightedBackend, ...], lc: ListenerCtx) -> None:
        for b in backends:
            if b.cluster is not None:
                self.cluster_gateways[b.cluster].add((lc.gateway.namespace, lc.gateway.name))

    # --- HTTP ----------------------------------------------------------------------------------

    def _virtual_hosts(self, sock: Socket) -> tuple[VirtualHost, ...]:
        owners: dict[str, list[ListenerCtx]] = defaultdict(list)
        for lc in sock.listeners:
            owners[lc.hostname or ANY].append(lc)
        domains: set[str] = set(owners)
        for lc in sock.listeners:
            for att in self.attachments.get(id(lc), ()):
                domains.update(att.hostnames)
        vhosts: list[VirtualHost] = []
        for domain in sorted(domains):
            patterns = covering_patterns(domain)
            owner = next((owners[p] for p in patterns if p in owners), None)
            if owner is None:
                continue  # no listener on this port matches: unreachable
            vhosts.append(self._virtual_host(sock, domain, patterns, owner))
        self._warn_foreign_hostnames(sock, owners)
        return tuple(vhosts)

    def _warn_foreign_hostnames(self, sock: Socket, owners: dict[str, list[ListenerCtx]]) -> None:
        """A route hostname that a more specific listener owns never reaches the route.

        Not reported when the route is attached to that owning listener as well (a route
        without sectionName usually is): it is served there.
        """
        attached = {
            (id(att.route), id(lc))
            for lc in sock.listeners
            for att in self.attachments.get(id(lc), ())
        }
        owner_of: dict[str, list[ListenerCtx]] = {}
        for lc in sock.listeners:
            for att in self.attachments.get(id(lc), ()):
                for host in att.hostnames:
                    owner = owner_of.get(host)
                    if owner is None:
                        patterns = covering_patterns(host)
                        owner = next((owners[p] for p in patterns if p in owners), [])
                        owner_of[host] = owner
                    if not owner or any(o is lc for o in owner):
                        continue
                    if any((id(att.route), id(o)) in attached for o in owner):
                        continue
                    obj = att.route.ref
                    msg = (
                        f"hostname {host} on listener {lc.owner.ref()} is never routed there: "
                        f"the more specific listener {owner[0].owner.ref()} owns it"
                    )
                    self.warnings.setdefault((obj, msg), ReportWarning(obj, msg))

    def _virtual_host(
        self, sock: Socket, domain: str, patterns: list[str], owner: list[ListenerCtx]
    ) -> VirtualHost:
        entries: dict[tuple[str, int, int], tuple[RouteOrderKey, Route]] = {}
        for lc in owner:
            by_host = self._by_hostname(lc)
            done: set[int] = set()
            # Patterns go most specific first, so a route lands with its best hostname.
            # Looking up only the patterns covering this domain keeps the build linear.
            for host in patterns:
                for att in by_host.get(host, ()):
                    if id(att) not in done:
                        done.add(id(att))
                        self._add_routes(entries, att.route, host, lc, sock.port)
        ordered = [r for _, r in sorted(entries.values(), key=lambda e: e[0])]
        if self.detect_shadowed:
            for loser, winner in find_shadowed(ordered):
                self._warn(loser, winner, domain)
        first = owner[0]
        return VirtualHost(
            name=f"{sock.name}/{domain}",
            domain=domain,
            listener=first.owner,
            routes=tuple(ordered),
        )

    def _add_routes(
        self,
        entries: dict[tuple[str, int, int], tuple[RouteOrderKey, Route]],
        route: RouteCtx,
        host: str,
        lc: ListenerCtx,
        port: int,
    ) -> None:
        for rule in route.compiled.rules:
            if rule.forwards:
                self._use_clusters(rule.backends, lc)
            for mirror in rule.mirrors:
                self.cluster_gateways[mirror.cluster].add((lc.gateway.namespace, lc.gateway.name))
            built = rule.ir_routes.get((host, port))
            if built is None:
                built = rule.ir_routes[(host, port)] = _ir_routes(route, rule, host, port)
            for key, order, ir_route in built:
                if key not in entries:
                    entries[key] = (order, ir_route)

    def _warn(self, loser: Route, winner: Route, domain: str) -> None:
        o = loser.origin
        obj = f"{o.kind}/{o.namespace}/{o.name}"
        where = f"rule {o.rule}" + (f" ({o.rule_name})" if o.rule_name else "")
        msg = (
            f"{where} match {o.match} can never be selected on host {domain}: "
            f"{winner.origin.ref()} always matches first"
        )
        self.warnings.setdefault((obj, msg), ReportWarning(obj, msg))

    def http(self, sock: Socket) -> tuple[FilterChain, ...]:
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
            for att in self.attachments.get(id(lc), ()):
                domains.update(att.hostnames)
        chains: list[FilterChain] = []
        for domain in sorted(domains):
            patterns = covering_patterns(domain)
            owner = next((owners[p] for p in patterns if p in owners), None)
            if owner is None:
                continue
            rank = {p: i for i, p in enumerate(patterns)}
            best: tuple[tuple[int, tuple[object, ...]], Attachment, ListenerCtx] | None = None
            for lc in owner:
                for att in self.attachments.get(id(lc), ()):
                    covering = [rank[h] for h in att.hostnames if h in rank]
                    if not covering:
                        continue
                    key = (min(covering), att.route.order)
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
        atts = [a for lc in sock.listeners for a in self.attachments.get(id(lc), ())]
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


def _ir_routes(
    route: RouteCtx, rule: CompiledRule, host: str, port: int
) -> tuple[IRRouteEntry, ...]:
    """One IR route per match of `rule`, served under `host` on a listener at `port`."""
    ref = route.ref
    host_rank = route_hostname_rank(host)
    action = rule.action(port)
    out: list[IRRouteEntry] = []
    for cm in rule.matches:
        origin = Origin(
            route.kind,
            route.namespace,
            route.name,
            rule=rule.index,
            match=cm.index,
            rule_name=rule.name,
        )
        order = RouteOrderKey(
            host_rank, cm.key, route.created, route.namespace, route.name, rule.index, cm.index
        )
        ir_route = Route(
            name=f"{ref}/rule/{rule.index}/match/{cm.index}",
            origin=origin,
            match=cm.match,
            action=action,
            grpc=rule.grpc,
            request_headers=rule.request_headers,
            response_headers=rule.response_headers,
            rewrite=rule.rewrite,
            mirrors=rule.mirrors,
            cors=rule.cors,
            request_timeout_ms=rule.request_timeout_ms,
            backend_timeout_ms=rule.backend_timeout_ms,
            retry=rule.retry,
            session_persistence=rule.session,
            hostname=host,
        )
        out.append(((ref, rule.index, cm.index), order, ir_route))
    return tuple(out)


def _route_origin(route: RouteCtx) -> Origin:
    return Origin(route.kind, route.namespace, route.name, rule=0)


def _by_hostname(listeners: list[ListenerCtx]) -> list[tuple[str | None, list[ListenerCtx]]]:
    groups: dict[str | None, list[ListenerCtx]] = {}
    for lc in listeners:
        groups.setdefault(lc.hostname, []).append(lc)
    return sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))


def assemble(
    gateways: list[GatewayCtx],
    routes: list[RouteCtx],
    detect_shadowed: bool,
) -> Assembly:
    attachments: dict[int, list[Attachment]] = defaultdict(list)
    for route in routes:
        for pc in route.parents:
            if pc.rejected is None:
                for att in pc.attachments:
                    attachments[id(att.listener)].append(att)
    sockets: dict[tuple[str, int, bool], Socket] = {}
    warnings: list[ReportWarning] = []
    ordered_gateways = sorted(gateways, key=lambda g: (g.created, g.namespace, g.name))
    for gw in ordered_gateways:
        if gw.accepted is not None:
            continue
        for lc in gw.all_listeners():
            if not lc.is_ready:
                continue
            for address in gw.addresses:
                key = (address, lc.port, lc.protocol == "UDP")
                sock = sockets.get(key)
                if sock is None:
                    sock = sockets[key] = Socket(address, lc.port, lc.protocol)
                if sock.protocol != lc.protocol:
                    # Another (older) Gateway bound this address and port with another
                    # protocol: in a cluster each Gateway would get its own address.
                    lc.accepted = lc.accepted or (
                        ListenerConditionReason.PORT_UNAVAILABLE,
                        f"{address}:{lc.port} is already used for {sock.protocol} by another "
                        "Gateway",
                    )
                    warnings.append(
                        ReportWarning(
                            f"Gateway/{gw.namespace}/{gw.name}",
                            f"listener {lc.name}: {address}:{lc.port} is already used for "
                            f"{sock.protocol} by another Gateway; this listener is not served",
                        )
                    )
                    continue
                sock.listeners.append(lc)
    builder = _Builder(attachments, detect_shadowed)
    listeners: list[Listener] = []
    for key in sorted(sockets, key=lambda k: (k[0], k[1], sockets[k].protocol)):
        sock = sockets[key]
        if sock.protocol in ("HTTP", "HTTPS"):
            chains = builder.http(sock)
        elif sock.protocol == "TLS":
            chains = builder.tls(sock)
        else:
            chains = builder.l4(sock)
        if not chains:
            continue  # e.g. HTTPS without a usable certificate: leave the port closed
        contributors = sorted(
            {Origin(lc.owner.kind, lc.owner.namespace, lc.owner.name) for lc in sock.listeners}
        )
        listeners.append(
            Listener(
                name=sock.name,
                address=sock.address,
                port=sock.port,
                protocol=Protocol(sock.protocol),
                chains=chains,
                gateways=tuple(contributors),
            )
        )
    warnings.extend(builder.warnings.values())
    return Assembly(IR(listeners=tuple(listeners)), warnings, dict(builder.cluster_gateways))
