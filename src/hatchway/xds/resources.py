"""The output of the Envoy step: xDS resources per type, their versions and their origins."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, KeysView, Mapping
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter
from types import MappingProxyType
from typing import Any

from hatchway.ir import Cluster, Origin, Route

LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener"
ROUTE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
CLUSTER = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
ENDPOINT = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
SECRET = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"

# The order a control plane must push in (warming: clusters and secrets before the
# listeners and routes that use them).
TYPE_URLS: tuple[str, ...] = (CLUSTER, ENDPOINT, SECRET, LISTENER, ROUTE)

# Short names, used by `to_dicts`, golden files and /config.
SHORT_NAMES: Mapping[str, str] = MappingProxyType(
    {
        LISTENER: "listeners",
        ROUTE: "routes",
        CLUSTER: "clusters",
        ENDPOINT: "endpoints",
        SECRET: "secrets",
    }
)

Key = tuple[str, str]  # (type_url, resource name)
# (type_url, resource name, part): part is a virtual host, `vhost/route` or a filter chain name.
PartKey = tuple[str, str, str]


def version_of(serialized: bytes) -> str:
    """Content hash of a resource's deterministic serialization. SHA-256 runs on the CPU's
    SHA instructions (x86 SHA-NI, ARMv8): twice blake2b's speed here, which counts for a
    RouteConfiguration of megabytes hashed on every change."""
    return hashlib.sha256(serialized).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class RouteFacts:
    """What `validate` checks of one IR route's Envoy route(s), found once when built."""

    part: str  # `vhost/route`, a part of its RouteConfiguration
    name: str  # the route's name
    clusters: tuple[str, ...]  # forwarded or mirrored to
    regex_problems: tuple[str, ...]  # patterns RE2 would refuse, as messages


@dataclass(frozen=True, slots=True)
class ConfigFacts:
    """What `validate` checks of one RouteConfiguration, found when it was built: checking
    then never parses it (3,000 routes: ~6 ms per change, and a parsed message ~7x its
    bytes kept for as long as the build is)."""

    vhosts: tuple[tuple[str, tuple[str, ...]], ...]  # each virtual host's name and domains
    routes: tuple[RouteFacts, ...]


@dataclass(frozen=True, slots=True)
class BuiltRoute:
    """One IR route as Envoy route(s): `framed` is ready to join into a VirtualHost's
    serialized `routes` field (tag, length and bytes per Envoy route)."""

    framed: bytes
    clusters: tuple[str, ...]
    regex_problems: tuple[str, ...]


class Parsed:
    """A message kept as its bytes and parsed when first read. Serving needs only the bytes,
    and a RouteConfiguration is ~7x larger parsed (10,000 routes: 6 MB of bytes, ~47 MiB as
    a message, ~40 ms to parse); only a NACK's diagnosis and the config dump read it."""

    __slots__ = ("_message", "_type", "data")

    def __init__(self, message_type: Any, data: bytes) -> None:
        self._type = message_type
        self.data = data
        self._message: Any = None

    @property
    def parsed(self) -> bool:
        return self._message is not None

    def get(self) -> Any:
        if self._message is None:
            self._message = self._type.FromString(self.data)
        return self._message


class Messages(Mapping[str, Any]):
    """Messages by name, in insertion order; a `Parsed` entry is parsed when first read."""

    __slots__ = ("entries",)

    def __init__(self, entries: dict[str, Any]) -> None:
        self.entries = entries  # as added: messages, or `Parsed` holders

    def __getitem__(self, name: str) -> Any:
        value = self.entries[name]
        return value.get() if isinstance(value, Parsed) else value

    def __contains__(self, name: object) -> bool:
        return name in self.entries  # Mapping's own would parse the entry

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def _entries(messages: Mapping[str, Any]) -> Mapping[str, Any]:
    """The entries as added (a `Parsed` holder stays unparsed)."""
    return messages.entries if isinstance(messages, Messages) else messages


@dataclass(frozen=True)
class XdsResources:
    """Everything to serve over ADS, as proto messages keyed by resource name, in stable order.

    `serialized` holds each message's deterministic bytes (ready for `Any.value`); `versions`
    their content hashes. `origins` names the Gateway API objects behind each resource so a
    NACK can be reported on them; `part_origins` does the same per virtual host, route and
    filter chain, for finer `validate` problems.
    """

    by_type: Mapping[str, Mapping[str, Any]]
    serialized: Mapping[Key, bytes]
    versions: Mapping[Key, str]
    origins: Mapping[Key, tuple[Origin, ...]]
    part_origins: Mapping[PartKey, tuple[Origin, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # RouteConfiguration name -> its facts (absent: `validate` reads the message).
    config_facts: Mapping[str, ConfigFacts] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def listeners(self) -> Mapping[str, Any]:
        return self.by_type[LISTENER]

    @property
    def routes(self) -> Mapping[str, Any]:
        return self.by_type[ROUTE]

    @property
    def clusters(self) -> Mapping[str, Any]:
        return self.by_type[CLUSTER]

    @property
    def endpoints(self) -> Mapping[str, Any]:
        return self.by_type[ENDPOINT]

    @property
    def secrets(self) -> Mapping[str, Any]:
        return self.by_type[SECRET]

    def names(self, type_url: str) -> KeysView[str]:
        """The names of one type's resources, as a set (no message is parsed)."""
        return _entries(self.by_type[type_url]).keys()

    def type_version(self, type_url: str) -> str:
        """One version for a whole type (SotW `version_info`): hash of the member versions."""
        h = hashlib.blake2b(digest_size=8)
        for name in self.by_type[type_url]:
            h.update(name.encode())
            h.update(b"\0")
            h.update(self.versions[(type_url, name)].encode())
            h.update(b"\0")
        return h.hexdigest()


# Origins cache their hash in a slot: reading it is C-level, `hash(origin)` a Python call.
# Thousands of route origins are merged per build, so merges compare these ints first.
hash_of: Callable[[Origin], int] = attrgetter("_hash") if hasattr(Origin, "_hash") else hash


@dataclass(frozen=True, slots=True)
class UniqueOrigins:
    """Origins without repeats, in first-seen order, with their hashes (`hash_of`)."""

    items: tuple[Origin, ...]
    hashes: tuple[int, ...]

    @staticmethod
    def of(items: Iterable[Origin], hashes: tuple[int, ...] | None = None) -> UniqueOrigins:
        """Deduplicated (an exact, Python-speed pass unless every hash differs). `hashes`:
        those of `items`, when known."""
        items = tuple(items)
        if hashes is None:
            hashes = tuple(map(hash_of, items))
        if len(set(hashes)) != len(hashes):  # equal origins have equal hashes
            items = tuple(dict.fromkeys(items))
            hashes = tuple(map(hash_of, items))
        return UniqueOrigins(items, hashes)


def union_origins(parts: Iterable[UniqueOrigins]) -> UniqueOrigins:
    """The origins of `parts`, in order, without repeats. C-level for a part whose hashes
    are all new; a part that repeats one is walked origin by origin (listener origins,
    which repeat, come in parts of one)."""
    parts = list(parts)
    if len(parts) == 1:
        return parts[0]
    seen: dict[int, Origin] = {}
    items: list[Origin] = []
    hashes: list[int] = []
    for i, part in enumerate(parts):
        if seen.keys().isdisjoint(part.hashes):
            items += part.items
            hashes += part.hashes
            if i + 1 < len(parts):
                seen.update(zip(part.hashes, part.items, strict=True))
            continue
        for h, origin in zip(part.hashes, part.items, strict=True):
            known = seen.get(h)
            if known is None:
                seen[h] = origin
                items.append(origin)
                hashes.append(h)
            elif known != origin:  # equal hashes, different origins: go the exact way
                return UniqueOrigins.of(chain.from_iterable(p.items for p in parts))
    return UniqueOrigins(tuple(items), tuple(hashes))


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """One IR route in one virtual host: its Envoy route(s) and its share of the output."""

    route: Route  # held so that `id(route)` cannot name another object while cached
    built: BuiltRoute
    part: PartKey  # (ROUTE, config, `vhost/route`)
    part_origins: tuple[Origin, ...]
    facts: RouteFacts | None  # None: nothing for `validate` to check
    uses: tuple[str, ...]  # clusters of the IR route (backends, then mirrors)


@dataclass(eq=False, slots=True)
class BuiltVirtualHost:
    """One IR virtual host's share of a RouteConfiguration, kept whole for the next build.

    Compared by identity: the same object means the same output."""

    name: str
    domain: str
    routes: tuple[Route, ...]  # the IR routes it was built from (held: identity checks)
    entries: tuple[RouteEntry, ...]
    # Per route, in route order: spliced as a whole (slicing copies no per-route work).
    framed_seq: tuple[bytes, ...]
    facts_seq: tuple[RouteFacts | None, ...]
    origin_seq: tuple[Origin, ...]
    hash_seq: tuple[int, ...]  # `hash_of` each origin
    listener: Origin  # the Gateway listener it belongs to
    framed: bytes  # serialized `routes` field of the Envoy VirtualHost
    parts: dict[PartKey, tuple[Origin, ...]]  # its routes' parts, then its own
    facts: tuple[RouteFacts, ...]
    route_origins: UniqueOrigins
    users: dict[str, UniqueOrigins]  # route origins per cluster
    unique_parts: bool  # no two routes share a part (else parts were merged)
    uniform_uses: tuple[str, ...] | None  # the clusters of each of its routes, if the same


# A virtual host's place in the output: (config, vhost name, domain, listener, protocol).
VhostKey = tuple[str, str, str, Origin, str]
# A cluster's Cluster and ClusterLoadAssignment messages, and its origins.
BuiltCluster = tuple[Any, Any, UniqueOrigins]
# What a build kept of a cluster: the IR cluster, the origins of its users, what was built.
ClusterEntry = tuple[Cluster, UniqueOrigins | None, BuiltCluster]


@dataclass(eq=False, slots=True)
class BuiltRouteConfig:
    """A whole RouteConfiguration, reused when built from the very same parts."""

    signature: tuple[object, ...]
    message: Parsed  # parsed from `serialized` when read
    serialized: bytes  # the message's deterministic serialization
    origins: UniqueOrigins
    facts: ConfigFacts
    parts: dict[PartKey, tuple[Origin, ...]]


class BuildCache:
    """What one `build` hands the next, so a rebuild costs what changed.

    - Per virtual host, its share of the RouteConfiguration (routes serialized and framed,
      parts, facts, origins, cluster users). A virtual host whose routes are the very same
      tuple is reused whole; one whose routes changed by a few insertions or removals is
      spliced (its unchanged routes are not looked at one by one). Building an Envoy route
      field by field costs ~10 µs in Python: the translate memo hands back the very same IR
      route objects for unchanged routes, so they are never built twice.
    - Whole RouteConfigurations built from the very same virtual host shares.
    - The listener side (listeners, route configurations, secrets) of the last build, reused
      whole when the IR's listeners are the very same tuple (only clusters or endpoints
      changed: pods come and go far more often than routes).
    - Per cluster, its Cluster and ClusterLoadAssignment and origins, reused while the IR
      cluster (endpoints included) and the routes using it are equal: a route change builds
      no cluster again, an endpoint change one.
    - Serialized bytes and versions of every message reused as is.
    Entries hold the objects they were built from, so an equal `id` is the same object.
    """

    def __init__(self) -> None:
        self._settings: object = None
        self._vhosts: dict[VhostKey, BuiltVirtualHost] = {}
        self._fresh_vhosts: dict[VhostKey, BuiltVirtualHost] = {}
        self._configs: dict[str, BuiltRouteConfig] = {}
        self._fresh_configs: dict[str, BuiltRouteConfig] = {}
        # (protocol, domain) -> id(route) -> built, from the last build's virtual hosts:
        # made on demand, for a virtual host new in this build.
        self._pools: dict[tuple[str, str], dict[int, RouteEntry]] = {}
        # cluster name -> (the IR cluster, the origins of its users, what was built)
        self._clusters: dict[str, ClusterEntry] = {}
        self._fresh_clusters: dict[str, ClusterEntry] = {}
        self._listeners: object = None
        self.resources: XdsResources | None = None  # the last build's output
        self.users: dict[str, UniqueOrigins] = {}  # its route origins per cluster
        self.hits = 0  # routes reused by the last build (for tests and logs)
        self.reused_listeners = False  # whether the last build reused the listener side
        self.spliced = 0  # virtual hosts the last build spliced from the one before (tests)

    def begin(self, settings: object, listeners: object) -> XdsResources | None:
        """Start a build; the previous output if its listener side can be reused."""
        if settings != self._settings:  # per-route filter config depends on the settings
            self._settings = settings
            self._vhosts = {}
            self._configs = {}
            self._clusters = {}
            self._listeners = None
            self.resources = None
        self._fresh_vhosts = {}
        self._fresh_configs = {}
        self._fresh_clusters = {}
        self._pools = {}
        self.hits = 0
        self.spliced = 0
        self.reused_listeners = listeners is self._listeners and self.resources is not None
        return self.resources if self.reused_listeners else None

    def last_vhost(self, key: VhostKey) -> BuiltVirtualHost | None:
        return self._vhosts.get(key)

    def keep_vhost(self, key: VhostKey, built: BuiltVirtualHost) -> None:
        self._fresh_vhosts[key] = built

    def pool(self, protocol: str, domain: str) -> dict[int, RouteEntry]:
        """The last build's routes built for `protocol` and `domain`, by `id`."""
        found = self._pools.get((protocol, domain))
        if found is None:
            found = {}
            for key, vh in self._vhosts.items():
                if key[4] == protocol and key[2] == domain:
                    found.update({id(e.route): e for e in vh.entries})
            self._pools[(protocol, domain)] = found
        return found

    def cluster(self, cluster: Cluster) -> tuple[UniqueOrigins | None, BuiltCluster] | None:
        """The users, and what the last build made, of an IR cluster equal to this one."""
        kept = self._clusters.get(cluster.name)
        return (kept[1], kept[2]) if kept is not None and kept[0] == cluster else None

    def keep_cluster(
        self, cluster: Cluster, users: UniqueOrigins | None, built: BuiltCluster
    ) -> None:
        self._fresh_clusters[cluster.name] = (cluster, users, built)

    def last_config(self, name: str) -> BuiltRouteConfig | None:
        return self._configs.get(name)

    def keep_config(self, name: str, built: BuiltRouteConfig) -> None:
        self._fresh_configs[name] = built

    def end(
        self, listeners: object, resources: XdsResources, users: dict[str, UniqueOrigins]
    ) -> None:
        if not self.reused_listeners:  # else no virtual host was looked up: keep them all
            self._vhosts = self._fresh_vhosts
            self._configs = self._fresh_configs
        self._clusters, self._fresh_clusters = self._fresh_clusters, {}
        self._fresh_vhosts = {}
        self._fresh_configs = {}
        self._pools = {}
        self._listeners = listeners
        self.resources = resources
        self.users = users


def add_part(
    parts: dict[PartKey, tuple[Origin, ...]], key: PartKey, origins: tuple[Origin, ...]
) -> None:
    """Record a part's origins; a part added again keeps the origins of both."""
    known = parts.get(key)
    # Most parts are added once: kept as given, merged only on a second add.
    parts[key] = origins if known is None else tuple(dict.fromkeys((*known, *origins)))


def merge_parts(
    parts: dict[PartKey, tuple[Origin, ...]], more: dict[PartKey, tuple[Origin, ...]]
) -> None:
    """`add_part` for each item of `more`, in order."""
    if parts.keys().isdisjoint(more.keys()):
        parts.update(more)  # the usual case: one C-level merge, no part added twice
    else:
        for key, origins in more.items():
            add_part(parts, key, origins)


class ResourceSet:
    """Accumulates resources while building; `freeze()` serializes and hashes them once."""

    def __init__(self, route_cache: BuildCache | None = None) -> None:
        self._by_type: dict[str, dict[str, Any]] = {t: {} for t in TYPE_URLS}
        # dicts used as insertion-ordered sets: membership must stay O(1) with 10k routes.
        self._origins: dict[Key, dict[Origin, None] | tuple[Origin, ...]] = {}
        self._parts: dict[PartKey, tuple[Origin, ...]] = {}
        self._config_facts: dict[str, ConfigFacts] = {}
        self._serialized: dict[Key, bytes] = {}
        self.route_cache = route_cache
        # id(routes tuple) -> (routes, cluster users) of the virtual hosts built so far.
        self.vhost_users: dict[int, tuple[object, dict[str, UniqueOrigins]]] = {}

    def add(
        self,
        type_url: str,
        name: str,
        message: Any,
        origins: tuple[Origin, ...],
        serialized: bytes | None = None,
    ) -> None:
        """Add a message (`serialized`: its deterministic bytes, when already known)."""
        self._by_type[type_url][name] = message
        if serialized is not None:
            self._serialized[(type_url, name)] = serialized
        self.add_origins(type_url, name, origins)

    def add_unique(
        self,
        type_url: str,
        name: str,
        message: Any,
        origins: UniqueOrigins,
        serialized: bytes | None = None,
    ) -> None:
        """`add`, with origins already without repeats, kept as they are (thousands per
        route configuration: not hashed again)."""
        self._by_type[type_url][name] = message
        if serialized is not None:
            self._serialized[(type_url, name)] = serialized
        self._origins[(type_url, name)] = origins.items

    def has(self, type_url: str, name: str) -> bool:
        return name in self._by_type[type_url]

    def add_origins(self, type_url: str, name: str, origins: tuple[Origin, ...]) -> None:
        known = self._origins.get((type_url, name))
        if isinstance(known, tuple):
            known = self._origins[(type_url, name)] = dict.fromkeys(known)
        if known is None:
            self._origins[(type_url, name)] = dict.fromkeys(origins)
        else:
            known.update(dict.fromkeys(origins))

    def add_part(self, key: PartKey, origins: tuple[Origin, ...]) -> None:
        add_part(self._parts, key, origins)

    def add_parts(self, parts: dict[PartKey, tuple[Origin, ...]]) -> None:
        """`add_part` for each item, in order."""
        merge_parts(self._parts, parts)

    def set_config_facts(self, config: str, facts: ConfigFacts) -> None:
        """The facts of RouteConfiguration `config` (`validate` trusts them)."""
        self._config_facts[config] = facts

    def adopt(self, previous: XdsResources, type_urls: tuple[str, ...]) -> None:
        """Take these types' resources from a previous build, as they were."""
        for t in type_urls:
            self._by_type[t].update(_entries(previous.by_type[t]))
            for name in previous.by_type[t]:
                self._origins[(t, name)] = previous.origins.get((t, name), ())  # unique
        for key, origins in previous.part_origins.items():
            if key[0] in type_urls:
                self._parts[key] = origins
        if ROUTE in type_urls:
            self._config_facts.update(previous.config_facts)

    def freeze(self, previous: XdsResources | None = None) -> XdsResources:
        """Serialize and hash; a message that is the very object of `previous` keeps its
        bytes and version."""
        serialized: dict[Key, bytes] = {}
        versions: dict[Key, str] = {}
        for type_url, items in self._by_type.items():
            before = _entries(previous.by_type[type_url]) if previous is not None else {}
            for name, message in items.items():
                key = (type_url, name)
                if previous is not None and before.get(name) is message:
                    serialized[key] = previous.serialized[key]
                    versions[key] = previous.versions[key]
                    continue
                data = self._serialized.get(key)
                if data is None:
                    data = (
                        message.data
                        if isinstance(message, Parsed)
                        else message.SerializeToString(deterministic=True)
                    )
                serialized[key] = data
                versions[key] = version_of(data)
        return XdsResources(
            by_type=MappingProxyType(
                {t: Messages(dict(items)) for t, items in self._by_type.items()}
            ),
            serialized=MappingProxyType(serialized),
            versions=MappingProxyType(versions),
            origins=MappingProxyType({k: tuple(v) for k, v in self._origins.items()}),
            part_origins=MappingProxyType(dict(self._parts)),
            config_facts=MappingProxyType(dict(self._config_facts)),
        )
