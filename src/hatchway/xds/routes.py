"""IR virtual hosts -> one Envoy RouteConfiguration (per HTTP port, or per HTTPS SNI chain)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import compress, count
from operator import attrgetter, is_, not_
from typing import Any, NamedTuple, TypeVar

from envoy.config.route.v3 import route_components_pb2, route_pb2

from hatchway.ir import FilterChain, Forward, Listener, Origin, Route, VirtualHost
from hatchway.ir.re2 import re2_problem
from hatchway.xds import ext_authz, wire
from hatchway.xds.headers import fill_headers
from hatchway.xds.http_actions import (
    fill_action,
    match_host_with_port,
    redirect_needs_port_variant,
)
from hatchway.xds.http_filters import fill_per_route_filters
from hatchway.xds.matches import fill_route_match
from hatchway.xds.misdirected import (
    fill_misdirected_route,
    is_misdirected,
    listener_host_patterns,
)
from hatchway.xds.resources import (
    ROUTE,
    BuildCache,
    BuiltRoute,
    BuiltRouteConfig,
    BuiltVirtualHost,
    ConfigFacts,
    Parsed,
    PartKey,
    ResourceSet,
    RouteEntry,
    RouteFacts,
    UniqueOrigins,
    VhostKey,
    add_part,
    hash_of,
    merge_parts,
    union_origins,
)
from hatchway.xds.settings import XdsSettings
from hatchway.xds.telemetry import envoy_route_name, fill_metadata, route_metadata, vhost_identity


def build_route_config(
    name: str, listener: Listener, chain: FilterChain, out: ResourceSet, settings: XdsSettings
) -> None:
    """RouteConfiguration `name` of `chain`, from its virtual hosts' shares (kept by the
    build cache, so a one-route change costs that route and a few C-level passes)."""
    cache = out.route_cache
    vhosts = chain.virtual_hosts or ()
    # Each virtual host's share or, when misdirected, what its 421 stand-in is made of.
    shares: list[BuiltVirtualHost | tuple[str, str, Origin]] = []
    tails: list[bytes] = []  # per share: what the vhost's own filters add after its routes
    for vh in vhosts:
        if is_misdirected(listener, chain, vh):
            shares.append((vh.name, vh.domain, vh.listener))
            tails.append(_vhost_tail(None, vhost_identity(listener, vh.listener)))
        else:
            share = _virtual_host(name, listener, vh, settings, cache)
            shares.append(share)
            tails.append(_vhost_tail(vh, vhost_identity(listener, share.listener)))
            out.vhost_users[id(share.routes)] = (share.routes, share.users)
    patterns = listener_host_patterns(listener, chain, vhosts)
    # The same shares (compared by identity), tails and patterns make the same
    # RouteConfiguration (the patterns' tails depend on the listener's ListenerSets).
    signature = (chain.listener, listener.listener_sets, *shares, *tails, *patterns)
    built = cache.last_config(name) if cache is not None else None
    if built is None or built.signature != signature:
        pairs = list(zip(shares, tails, strict=True))
        built = _route_config(name, listener, chain, pairs, patterns, signature=signature)
    if cache is not None:
        cache.keep_config(name, built)
    out.add_parts(built.parts)
    out.add_unique(ROUTE, name, built.message, built.origins, built.serialized)
    out.set_config_facts(name, built.facts)


def _route_config(
    name: str,
    listener: Listener,
    chain: FilterChain,
    shares: list[tuple[BuiltVirtualHost | tuple[str, str, Origin], bytes]],
    patterns: list[tuple[str, bool]],
    *,
    signature: tuple[object, ...],
) -> BuiltRouteConfig:
    """The RouteConfiguration, serialized by joining the virtual hosts' bytes (deterministic
    serialization writes fields in number order, so this is what serializing the message
    would give); parsed only if someone reads the message."""
    origins = [_one(chain.listener)]
    parts: dict[PartKey, tuple[Origin, ...]] = {}
    facts: list[RouteFacts] = []
    vhosts: list[tuple[str, tuple[str, ...]]] = []
    data = [_config_head(name)]
    for share, tail in shares:
        if isinstance(share, BuiltVirtualHost):
            head = _vhost_head(share.name, share.domain)
            data += wire.field(_CONFIG_VHOSTS, head, share.framed, tail)
            merge_parts(parts, share.parts)
            facts.extend(share.facts)
            vhosts.append((share.name, (share.domain,)))
            origins += (_one(share.listener), share.route_origins)
        else:
            vh_name, domain, vh_listener = share
            head = _vhost_head(vh_name, domain, misdirected=True)
            data += wire.field(_CONFIG_VHOSTS, head, tail)
            add_part(parts, (ROUTE, name, vh_name), (vh_listener,))
            vhosts.append((vh_name, (domain,)))
    for pattern, misdirected in patterns:
        vh_name = f"{chain.name}/listener/{pattern}"
        head = _vhost_head(vh_name, pattern, misdirected=misdirected)
        tail = _vhost_tail(None, vhost_identity(listener, chain.listener))
        data += wire.field(_CONFIG_VHOSTS, head, tail)
        vhosts.append((vh_name, (pattern,)))
    data.append(_CONFIG_TAIL)
    serialized = b"".join(data)
    message = Parsed(route_pb2.RouteConfiguration, serialized)
    config_facts = ConfigFacts(tuple(vhosts), tuple(facts))
    return BuiltRouteConfig(
        signature, message, serialized, union_origins(origins), config_facts, parts
    )


def _one(origin: Origin) -> UniqueOrigins:
    return UniqueOrigins((origin,), (hash_of(origin),))


def _config_head(name: str) -> bytes:
    """The fields of a RouteConfiguration before its virtual hosts: its name."""
    data: bytes = route_pb2.RouteConfiguration(name=name).SerializeToString(deterministic=True)
    return data


def _config_tail() -> bytes:
    """The fields of every RouteConfiguration after its virtual hosts."""
    cfg = route_pb2.RouteConfiguration()
    # `Host: foo.com:8080` selects the `foo.com` virtual host; the Host header itself is
    # forwarded unchanged (we never strip the port from it).
    cfg.ignore_port_in_host_matching = True
    # Off: routes may point at the never-defined invalid-backend cluster (500 share), and
    # Envoy would NACK the whole RouteConfiguration for it. Every *other* cluster reference
    # is checked by `xds.validate` before publishing, and the runtime pushes CDS before RDS.
    cfg.validate_clusters.value = False
    assert all(f.number > _CONFIG_VHOSTS for f, _ in cfg.ListFields())
    data: bytes = cfg.SerializeToString(deterministic=True)
    return data


def _vhost_head(name: str, domain: str, *, misdirected: bool = False) -> bytes:
    """A VirtualHost's fields before its routes (with its one route when misdirected)."""
    v = route_components_pb2.VirtualHost(name=name, domains=[domain])
    if misdirected:
        fill_misdirected_route(v.routes.add())
    data: bytes = v.SerializeToString(deterministic=True)
    return data


def _vhost_tail(vh: VirtualHost | None, identity: dict[str, object]) -> bytes:
    """A virtual host's fields after its routes. For a listener's pre-routing filters, a
    last catch-all route (404, as when nothing matches) so that they run for requests no
    route takes too, and the per-filter configs turning them on for the whole host; its
    metadata, the Gateway listener it serves (for logs and stats)."""
    v = route_components_pb2.VirtualHost()
    if vh is not None and vh.external_auth:
        last = v.routes.add()
        last.match.prefix = "/"
        last.direct_response.status = 404
        for i, auth in enumerate(vh.external_auth):
            v.typed_per_filter_config[ext_authz.filter_name(auth, i)].Pack(ext_authz.enabled())
    fill_metadata(v.metadata, identity)
    # Routes (field 3), typed_per_filter_config (15) and metadata follow the head and the
    # other routes: deterministic serialization writes fields in number order.
    data: bytes = v.SerializeToString(deterministic=True)
    return data


# A virtual host is spliced when at most this share of its routes were inserted or removed
# (1/4); beyond, looking each route up by id costs no more.
_SPLICE_SHARE = 4

_FRAMED = attrgetter("built.framed")
_PART = attrgetter("part")
_PART_ORIGINS = attrgetter("part_origins")
_FACTS = attrgetter("facts")
_ORIGIN = attrgetter("route.origin")
_USES = attrgetter("uses")


def _virtual_host(
    config: str,
    listener: Listener,
    vh: VirtualHost,
    settings: XdsSettings,
    cache: BuildCache | None,
) -> BuiltVirtualHost:
    """`vh`'s share of RouteConfiguration `config`: the last build's when its routes are the
    very same tuple, the last build's spliced when a few routes were inserted or removed,
    else built afresh (reusing the Envoy routes of IR routes built before)."""
    return _VhostBuilder(config, listener, vh, settings, cache).build()


_T = TypeVar("_T")


class _Columns(NamedTuple):
    """A virtual host's routes and, per route, what its output is made of."""

    entries: tuple[RouteEntry, ...]
    framed: tuple[bytes, ...]
    facts: tuple[RouteFacts | None, ...]
    origins: tuple[Origin, ...]
    hashes: tuple[int, ...]  # `hash_of` each origin


@dataclass(frozen=True, slots=True)
class _VhostBuilder:
    """Builds one virtual host's share, reusing what `cache` kept of the last build."""

    config: str  # RouteConfiguration name
    listener: Listener
    vh: VirtualHost
    settings: XdsSettings
    cache: BuildCache | None

    def build(self) -> BuiltVirtualHost:
        cache, vh = self.cache, self.vh
        if cache is None:
            return self.fresh({}, same_vhost=False)
        key: VhostKey = (self.config, vh.name, vh.domain, vh.listener, self.listener.protocol)
        last = cache.last_vhost(key)
        if last is None:
            built = self.fresh(cache.pool(self.listener.protocol, vh.domain), same_vhost=False)
        elif last.routes is vh.routes:
            built = last
            cache.hits += len(vh.routes)
        else:
            spliced = self.spliced(last, cache)
            if spliced is None:
                known = {id(e.route): e for e in last.entries}
                built = self.fresh(known, same_vhost=True)
            else:
                built = spliced
                cache.spliced += 1
        cache.keep_vhost(key, built)
        return built

    def fresh(self, known: dict[int, RouteEntry], *, same_vhost: bool) -> BuiltVirtualHost:
        entries = tuple(self.entry(r, known, same_vhost=same_vhost) for r in self.vh.routes)
        columns = _Columns(
            entries,
            tuple(map(_FRAMED, entries)),
            tuple(map(_FACTS, entries)),
            origins := tuple(map(_ORIGIN, entries)),
            tuple(map(hash_of, origins)),
        )
        return self.assemble(columns, None)

    def spliced(self, last: BuiltVirtualHost, cache: BuildCache) -> BuiltVirtualHost | None:
        """`last` with the routes between the common head and tail replaced, or None when
        too many changed. Costs the changed routes plus a few C-level passes over the rest."""
        old, new = last.routes, self.vh.routes
        common = min(len(old), len(new))
        # First index where the tuples differ (by identity), from each end; C iterators only.
        head = next(compress(count(), map(not_, map(is_, old, new))), common)
        tail = next(compress(count(), map(not_, map(is_, reversed(old), reversed(new)))), common)
        tail = min(tail, common - head)
        removed = last.entries[head : len(old) - tail]
        added = new[head : len(new) - tail]
        if (len(removed) + len(added)) * _SPLICE_SHARE > len(old) + len(new):
            return None
        known = {id(e.route): e for e in removed}
        fresh = tuple(self.entry(r, known, same_vhost=True) for r in added)
        cache.hits += head + tail
        cut = len(old) - tail

        def spliced(column: tuple[_T, ...], new: Iterable[_T]) -> tuple[_T, ...]:
            return column[:head] + tuple(new) + column[cut:]

        columns = _Columns(
            spliced(last.entries, fresh),
            spliced(last.framed_seq, (e.built.framed for e in fresh)),
            spliced(last.facts_seq, (e.facts for e in fresh)),
            spliced(last.origin_seq, (e.route.origin for e in fresh)),
            spliced(last.hash_seq, (hash_of(e.route.origin) for e in fresh)),
        )
        if not last.unique_parts:
            return self.assemble(columns, None)
        parts = dict(last.parts)
        del parts[(ROUTE, self.config, self.vh.name)]  # its own part: made again, last
        for e in removed:
            del parts[e.part]
        for e in fresh:
            if e.part in parts:  # two routes now share a part: merge them in route order
                return self.assemble(columns, None)
            parts[e.part] = e.part_origins
        uniform = last.uniform_uses
        if uniform is not None and any(e.uses != uniform for e in fresh):
            uniform = None
        return self.assemble(columns, (parts, uniform))

    def assemble(
        self,
        columns: _Columns,
        spliced: tuple[dict[PartKey, tuple[Origin, ...]], tuple[str, ...] | None] | None,
    ) -> BuiltVirtualHost:
        """The share from its route columns. `spliced`: its route parts (unique) and the
        uses common to all its routes (None: unknown), when already known."""
        vh, entries = self.vh, columns.entries
        if spliced is None:
            parts = dict(zip(map(_PART, entries), map(_PART_ORIGINS, entries), strict=True))
            unique = len(parts) == len(entries)
            if not unique:
                parts = {}
                for e in entries:
                    add_part(parts, e.part, e.part_origins)
            uses = set(map(_USES, entries))
            uniform = uses.pop() if len(uses) == 1 else None
        else:
            parts, uniform = spliced
            unique = True
        route_origins = UniqueOrigins.of(columns.origins, columns.hashes)
        origins = union_origins((_one(vh.listener), route_origins))
        add_part(parts, (ROUTE, self.config, vh.name), origins.items)
        users: dict[str, UniqueOrigins]
        if not entries:
            users = {}
        elif uniform is not None:  # the usual case: one Service behind every route
            users = dict.fromkeys(uniform, route_origins)
        else:
            by_cluster: dict[str, dict[Origin, None]] = {}
            for e in entries:
                for cluster in e.uses:
                    by_cluster.setdefault(cluster, {})[e.route.origin] = None
            users = {c: UniqueOrigins.of(o) for c, o in by_cluster.items()}
        return BuiltVirtualHost(
            name=vh.name,
            domain=vh.domain,
            routes=vh.routes,
            entries=entries,
            framed_seq=columns.framed,
            facts_seq=columns.facts,
            origin_seq=columns.origins,
            hash_seq=columns.hashes,
            listener=vh.listener,
            framed=b"".join(columns.framed),
            parts=parts,
            facts=tuple(filter(None, columns.facts)),
            route_origins=route_origins,
            users=users,
            unique_parts=unique,
            uniform_uses=uniform,
        )

    def entry(self, route: Route, known: dict[int, RouteEntry], *, same_vhost: bool) -> RouteEntry:
        """`route` in this virtual host: from `known` (built before, by id: entries hold their
        routes, so the same id is the same object) or built now."""
        vh = self.vh
        hit = known.get(id(route))
        if hit is not None and self.cache is not None:
            self.cache.hits += 1
            if same_vhost:
                return hit
        if hit is not None:
            built = hit.built
        else:
            built = build_route(route, self.listener, vh.domain, self.settings)
        part = f"{vh.name}/{route.name}"
        facts = None
        if built.clusters or built.regex_problems:
            facts = RouteFacts(part, route.name, built.clusters, built.regex_problems)
        return RouteEntry(
            route,
            built,
            (ROUTE, self.config, part),
            (route.origin, vh.listener),
            facts,
            _uses(route),
        )


def _uses(route: Route) -> tuple[str, ...]:
    """The clusters `route` forwards or mirrors to, first-seen order."""
    found: dict[str, None] = {}
    if isinstance(route.action, Forward):
        found.update((b.cluster, None) for b in route.action.backends if b.cluster is not None)
    found.update((m.cluster, None) for m in route.mirrors)
    return tuple(found)


_ROUTES = wire.field_number(route_components_pb2.VirtualHost, "routes")
_CONFIG_VHOSTS = wire.field_number(route_pb2.RouteConfiguration, "virtual_hosts")
_CONFIG_TAIL = _config_tail()
# Routes follow name (1) and domains (2) and precede every field `_vhost_tail` writes.
assert _ROUTES == 3
assert wire.field_number(route_components_pb2.VirtualHost, "metadata") > _ROUTES


def build_route(route: Route, listener: Listener, domain: str, settings: XdsSettings) -> BuiltRoute:
    """The Envoy route(s) for `route` under `domain` (two when a redirect must know whether
    the Host header carried a port), framed for a VirtualHost, and what `validate` checks."""
    variants = (
        (True, False) if redirect_needs_port_variant(route, listener.protocol, domain) else (False,)
    )
    framed: list[bytes] = []
    clusters: dict[str, None] = {}
    problems: dict[str, None] = {}
    for host_has_port in variants:
        r = route_components_pb2.Route()
        r.name = envoy_route_name(route.origin)
        fill_route_match(r.match, route.match)
        if host_has_port:
            match_host_with_port(r.match)
        fill_action(r, route, listener.protocol, domain, host_has_port)
        fill_headers(r.request_headers_to_add, r.request_headers_to_remove, route.request_headers)
        fill_headers(
            r.response_headers_to_add, r.response_headers_to_remove, route.response_headers
        )
        fill_per_route_filters(r.typed_per_filter_config, route, settings)
        fill_metadata(r.metadata, route_metadata(route.origin))
        data = r.SerializeToString(deterministic=True)
        framed += wire.framed(_ROUTES, data)
        clusters.update(dict.fromkeys(route_clusters(r)))
        problems.update(dict.fromkeys(regex_problems(r, route.name)))
    return BuiltRoute(b"".join(framed), tuple(clusters), tuple(problems))


def regex_problems(r: Any, name: str) -> list[str]:
    """Messages for the patterns of Envoy route `r` (called `name`) that RE2 (so Envoy)
    would refuse."""
    out: list[str] = []
    for where, pattern in _route_regexes(r):
        reason = re2_problem(pattern)
        if reason:
            out.append(f"route {name!r}: {where} {pattern!r}: {reason}")
    return out


def _route_regexes(r: Any) -> Iterator[tuple[str, str]]:
    m = r.match
    if m.HasField("safe_regex"):
        yield "path regex", m.safe_regex.regex
    for h in m.headers:
        if h.string_match.HasField("safe_regex"):
            yield f"header {h.name} regex", h.string_match.safe_regex.regex
    for q in m.query_parameters:
        if q.string_match.HasField("safe_regex"):
            yield f"query {q.name} regex", q.string_match.safe_regex.regex
    if r.HasField("route") and r.route.HasField("regex_rewrite"):
        yield "rewrite regex", r.route.regex_rewrite.pattern.regex


def config_facts(cfg: Any) -> ConfigFacts:
    """The facts of a RouteConfiguration not built by `build_route_config`, read from it."""
    out: list[RouteFacts] = []
    for vh in cfg.virtual_hosts:
        for r in vh.routes:
            clusters = tuple(dict.fromkeys(route_clusters(r)))
            problems = tuple(regex_problems(r, r.name))
            if clusters or problems:
                out.append(RouteFacts(f"{vh.name}/{r.name}", r.name, clusters, problems))
    vhosts = tuple((vh.name, tuple(vh.domains)) for vh in cfg.virtual_hosts)
    return ConfigFacts(vhosts, tuple(out))


def route_clusters(r: Any) -> list[str]:
    """Clusters an Envoy Route forwards or mirrors to (for validation)."""
    if not r.HasField("route"):
        return []
    a = r.route
    names = [a.cluster] if a.cluster else []
    names.extend(cw.name for cw in a.weighted_clusters.clusters)
    names.extend(m.cluster for m in a.request_mirror_policies)
    return names
