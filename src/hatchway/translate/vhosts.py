"""Virtual hosts of one HTTP(S) socket, built from what each route contributes to them.

A route's part of a socket — the IR routes it adds to each virtual host, the clusters it uses,
the hostname warnings it earns — depends only on that route and on the socket's listeners and
domains. Full translations add up every route's part; an incremental one (`translate.delta`)
takes a changed route's old part out and puts its new part in, so a one-route change to a
virtual host of thousands costs one route.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from hatchway.ir import Origin, Route, VirtualHost
from hatchway.status import ReportWarning
from hatchway.status.findings import Finding
from hatchway.translate.attach import Attachment, RouteCtx
from hatchway.translate.gatewayctx import ListenerCtx, ListenerKey
from hatchway.translate.hostnames import ANY, original_hostname, route_hostname_rank
from hatchway.translate.precedence import RouteOrderKey
from hatchway.translate.rules import CompiledRule, IRRouteEntry
from hatchway.translate.shadowing import ShadowIndex

ClusterUse = tuple[str, tuple[str, str]]  # (cluster, (gateway namespace, gateway name))
Entry = IRRouteEntry  # (precedence, IR route)


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
    # The Gateway (namespace, name) whose own data plane binds it; None: shared by all.
    gateway: tuple[str, str] | None = None

    @property
    def name(self) -> str:
        own = f"{self.gateway[0]}/{self.gateway[1]}/" if self.gateway else ""
        return f"{own}{self.protocol.lower()}/{self.address}/{self.port}"


@dataclass(eq=False)
class RoutePart:
    """What one route contributes to one HTTP(S) socket."""

    hosts: frozenset[str]  # its effective hostnames there: each is a domain of the socket
    entries: dict[str, list[Entry]]  # domain -> the IR routes it adds to that virtual host
    clusters: frozenset[ClusterUse]
    warnings: tuple[ReportWarning, ...]  # hostnames a more specific listener owns
    listeners: frozenset[ListenerKey]  # the listeners it is attached to here


@dataclass(eq=False)
class VhostState:
    """One virtual host's routes in precedence order (keys and routes side by side)."""

    domain: str
    owner: list[ListenerCtx]
    keys: list[RouteOrderKey]
    routes: list[Route]
    shadow: ShadowIndex | None = None  # kept up to date by `insert` and `remove`
    shadowed: tuple[ReportWarning, ...] = ()
    vhost: VirtualHost | None = None

    def remove(self, entry: Entry) -> None:
        key, route = entry
        i = bisect_left(self.keys, key)
        if i >= len(self.keys) or self.keys[i] != key:
            raise LookupError(f"{route.name} is not in virtual host {self.domain}")
        del self.keys[i]
        del self.routes[i]
        if self.shadow is not None:
            self.shadow.remove(key, route)

    def insert(self, entry: Entry) -> None:
        key, route = entry
        i = bisect_left(self.keys, key)
        self.keys.insert(i, key)
        self.routes.insert(i, route)
        if self.shadow is not None:
            self.shadow.insert(key, route)


class HttpSocket:
    """The virtual hosts of one HTTP or HTTPS socket and what they were added up from."""

    def __init__(self, sock: Socket, domains: Counter[str]) -> None:
        self.sock = sock
        self.listener_keys = frozenset(lc.key for lc in sock.listeners)
        self.owners: dict[str, list[ListenerCtx]] = defaultdict(list)
        for lc in sock.listeners:
            self.owners[lc.hostname or ANY].append(lc)
        self.owners = dict(self.owners)
        # Route hostnames -> how many routes bring each (a domain lives while one does).
        self.domains = domains
        self.vhosts: dict[str, VhostState] = {}
        self.covers: dict[str, set[str]] = defaultdict(set)  # pattern -> domains it covers
        self._owner_of: dict[str, list[ListenerCtx]] = {}
        self._patterns: dict[str, list[str]] = {}
        for domain in sorted(set(self.owners) | set(domains)):
            self.add_domain(domain)

    def patterns(self, domain: str) -> list[str]:
        """`covering_patterns(domain)`, computed once per domain."""
        found = self._patterns.get(domain)
        if found is None:
            found = self._patterns[domain] = covering_patterns(domain)
        return found

    def add_domain(self, domain: str) -> VhostState | None:
        """A virtual host for `domain` (None if no listener here matches it: unreachable).
        Keep `vhosts` in domain order afterwards (`sort_vhosts`)."""
        owner = self.owner_of(domain)
        if not owner:
            return None
        vs = self.vhosts[domain] = VhostState(domain, owner, [], [])
        for p in covering_patterns(domain):
            self.covers[p].add(domain)
        return vs

    def drop_domain(self, domain: str) -> VhostState | None:
        vs = self.vhosts.pop(domain, None)
        if vs is not None:
            for p in covering_patterns(domain):
                self.covers[p].discard(domain)
        return vs

    def sort_vhosts(self) -> None:
        self.vhosts = dict(sorted(self.vhosts.items()))

    def hosts(self, route: RouteCtx) -> frozenset[str]:
        """`route`'s effective hostnames on this socket (each a domain of it)."""
        return frozenset(
            h for group in self.attachments(route).values() for a in group for h in a.hostnames
        )

    def owner_of(self, host: str) -> list[ListenerCtx]:
        """The listeners owning `host` on this socket (the most specific match), or []."""
        owner = self._owner_of.get(host)
        if owner is None:
            owner = next((self.owners[p] for p in covering_patterns(host) if p in self.owners), [])
            self._owner_of[host] = owner
        return owner

    def attachments(self, route: RouteCtx) -> dict[ListenerKey, list[Attachment]]:
        """`route`'s attachments to this socket's listeners, by listener, in order."""
        out: dict[ListenerKey, list[Attachment]] = {}
        for pc in route.parents:
            if pc.rejected is not None:
                continue
            for att in pc.attachments:
                key = att.listener.key
                if key in self.listener_keys:
                    out.setdefault(key, []).append(att)
        return out

    def part(self, route: RouteCtx, coming: Sequence[str] = ()) -> RoutePart:
        """What `route` adds to this socket's virtual hosts (and to those of the `coming`
        domains, which a change is about to add).

        Per domain, each owning listener in turn, and the route's hostnames most specific
        first: an IR route lands once, with the best hostname it is served under.
        """
        atts = self.attachments(route)
        hosts = frozenset(h for group in atts.values() for a in group for h in a.hostnames)
        targets: set[str] = set()
        for h in hosts:
            targets.update(self.covers.get(h, ()))
        for domain in coming:
            if not hosts.isdisjoint(self.patterns(domain)):
                targets.add(domain)
        entries: dict[str, list[Entry]] = {}
        clusters: set[ClusterUse] = set()
        port = self.sock.port
        for domain in targets:
            vs = self.vhosts.get(domain)
            owner = vs.owner if vs is not None else self.owner_of(domain)
            patterns = self.patterns(domain)
            got: dict[str, Entry] = {}  # by IR route name
            for lc in owner:
                mine = atts.get(lc.key)
                if not mine:
                    continue
                done: set[int] = set()  # positions in `mine`
                for host in patterns:
                    for i, att in enumerate(mine):
                        if i not in done and host in att.hostnames:
                            done.add(i)
                            _add_routes(got, clusters, route, host, lc, port=port)
            if got:
                entries[domain] = list(got.values())
        return RoutePart(
            hosts,
            entries,
            frozenset(clusters),
            self._foreign_hostnames(route, atts),
            frozenset(atts),
        )

    def _foreign_hostnames(
        self, route: RouteCtx, atts: dict[ListenerKey, list[Attachment]]
    ) -> tuple[ReportWarning, ...]:
        """A route hostname that a more specific listener owns never reaches the route.

        Not reported when the route is attached to that owning listener as well (a route
        without sectionName usually is): it is served there.
        """
        out: dict[str, ReportWarning] = {}
        for group in atts.values():
            for att in group:
                lc = att.listener
                for host in att.hostnames:
                    owner = self.owner_of(host)
                    if not owner or any(o.key in atts for o in owner):
                        continue
                    obj = route.ref
                    msg = (
                        f"hostname {host} on listener {lc.owner.ref()} is never routed there: "
                        f"the more specific listener {owner[0].owner.ref()} owns it"
                    )
                    out.setdefault(msg, ReportWarning(obj, msg, Finding.HOSTNAME_NEVER_ROUTED))
        return tuple(out.values())

    def build_vhost(self, vs: VhostState, detect_shadowed: bool) -> VirtualHost:
        """`vs` as an IR virtual host (and its shadowed-match warnings, kept on `vs`)."""
        if detect_shadowed:
            if vs.shadow is None or vs.shadow.stale:
                vs.shadow = ShadowIndex.build(vs.keys, vs.routes)
            vs.shadowed = tuple(
                dict.fromkeys(
                    _shadow_warning(loser, winner, vs.domain) for loser, winner in vs.shadow.pairs()
                )
            )
        vs.vhost = VirtualHost(
            name=f"{self.sock.name}/{vs.domain}",
            domain=vs.domain,
            listener=vs.owner[0].owner,
            routes=tuple(vs.routes),
            external_auth=vs.owner[0].external_auth,
        )
        return vs.vhost

    def virtual_hosts(self) -> tuple[VirtualHost, ...]:
        return tuple(vs.vhost for vs in self.vhosts.values() if vs.vhost is not None)


def _add_routes(
    got: dict[str, Entry],
    clusters: set[ClusterUse],
    route: RouteCtx,
    host: str,
    lc: ListenerCtx,
    *,
    port: int,
) -> None:
    gateway = (lc.gateway.namespace, lc.gateway.name)
    for rule in route.compiled.rules:
        if rule.forwards:
            for b in rule.backends:
                if b.cluster is not None:
                    clusters.add((b.cluster, gateway))
        for mirror in rule.mirrors:
            clusters.add((mirror.cluster, gateway))
        if rule.external_auth is not None and rule.external_auth.cluster is not None:
            clusters.add((rule.external_auth.cluster, gateway))
        built = rule.ir_routes.get((host, port))
        if built is None:
            built = rule.ir_routes[(host, port)] = ir_routes(route, rule, host, port)
        for entry in built:
            # An IR route's name stands for its route, rule and match: each lands once.
            got.setdefault(entry[1].name, entry)


def ir_routes(
    route: RouteCtx, rule: CompiledRule, host: str, port: int
) -> tuple[IRRouteEntry, ...]:
    """One IR route per match of `rule`, served under `host` on a listener at `port`."""
    # Called once per (rule, hostname, port) for every route: what all matches of the rule
    # share is looked up once, not per match.
    ref, kind, namespace, name, created = (
        route.ref,
        route.kind,
        route.namespace,
        route.name,
        route.created,
    )
    index, rule_name = rule.index, rule.name
    host_rank = route_hostname_rank(host)
    original = original_hostname(route.hostnames, host)
    original_rank = host_rank if original == host else route_hostname_rank(original)
    action = rule.action(port)
    # What every match of the rule shares: `Route`'s fields from `grpc` to `external_auth`,
    # in its field order (passed by position: by name costs twice as much per IR route).
    shared = (
        rule.grpc,
        rule.request_headers,
        rule.response_headers,
        rule.rewrite,
        rule.mirrors,
        rule.cors,
        rule.request_timeout_ms,
        rule.backend_timeout_ms,
        rule.retry,
        rule.session,
        rule.external_auth,
    )
    out: list[IRRouteEntry] = []
    for cm in rule.matches:
        m = cm.index
        origin = Origin(kind, namespace, name, rule=index, match=m, rule_name=rule_name)
        order: RouteOrderKey = (
            *host_rank,
            *original_rank,
            *cm.key,
            created,
            namespace,
            name,
            index,
            m,
        )
        ir_route = Route(f"{ref}/rule/{index}/match/{m}", origin, cm.match, action, *shared, host)
        out.append((order, ir_route))
    return tuple(out)


def _shadow_warning(loser: Route, winner: Route, domain: str) -> ReportWarning:
    o = loser.origin
    obj = f"{o.kind}/{o.namespace}/{o.name}"
    where = f"rule {o.rule}" + (f" ({o.rule_name})" if o.rule_name else "")
    msg = (
        f"{where} match {o.match} can never be selected on host {domain}: "
        f"{winner.origin.ref()} always matches first"
    )
    return ReportWarning(obj, msg, Finding.SHADOWED_RULE)
