"""The output of the Envoy step: xDS resources per type, their versions and their origins."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from hatchway.ir import Origin

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
    """Content hash of a resource's deterministic serialization."""
    return hashlib.blake2b(serialized, digest_size=8).hexdigest()


@dataclass(frozen=True, slots=True)
class RouteFacts:
    """What `validate` checks of one IR route's Envoy route(s), found once when built."""

    part: str  # `vhost/route`, a part of its RouteConfiguration
    name: str  # the route's name
    clusters: tuple[str, ...]  # forwarded or mirrored to
    regex_problems: tuple[str, ...]  # patterns RE2 would refuse, as messages


@dataclass(frozen=True, slots=True)
class BuiltRoute:
    """One IR route as Envoy route(s): `framed` is ready to join into a VirtualHost's
    serialized `routes` field (tag, length and bytes per Envoy route)."""

    framed: bytes
    clusters: tuple[str, ...]
    regex_problems: tuple[str, ...]


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
    # RouteConfiguration name -> facts of its routes (absent: `validate` reads the protos).
    route_facts: Mapping[str, tuple[RouteFacts, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

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

    def type_version(self, type_url: str) -> str:
        """One version for a whole type (SotW `version_info`): hash of the member versions."""
        h = hashlib.blake2b(digest_size=8)
        for name in self.by_type[type_url]:
            h.update(name.encode())
            h.update(b"\0")
            h.update(self.versions[(type_url, name)].encode())
            h.update(b"\0")
        return h.hexdigest()


class BuildCache:
    """What one `build` hands the next, so a rebuild costs what changed.

    - Envoy routes per IR route object, serialized: building one field by field costs ~10 µs
      in Python, joining its bytes into the virtual host almost nothing. The translate memo
      hands back the very same IR route objects for unchanged routes.
    - The listener side (listeners, route configurations, secrets) of the last build, reused
      whole when the IR's listeners are the very same tuple (only clusters or endpoints
      changed: pods come and go far more often than routes).
    - Serialized bytes and versions of every message reused as is.
    Entries hold the objects they were built from, so an equal `id` is the same object.
    """

    def __init__(self) -> None:
        self._settings: object = None
        self._last: dict[tuple[int, str, str], tuple[object, BuiltRoute]] = {}
        self._fresh: dict[tuple[int, str, str], tuple[object, BuiltRoute]] = {}
        self._listeners: object = None
        self.resources: XdsResources | None = None  # the last build's output
        self.users: dict[str, list[Origin]] = {}  # its route origins per cluster
        self.hits = 0  # routes reused by the last build (for tests and logs)
        self.reused_listeners = False  # whether the last build reused the listener side

    def begin(self, settings: object, listeners: object) -> XdsResources | None:
        """Start a build; the previous output if its listener side can be reused."""
        if settings != self._settings:  # per-route filter config depends on the settings
            self._settings = settings
            self._last = {}
            self._listeners = None
            self.resources = None
        self._fresh = {}
        self.hits = 0
        self.reused_listeners = listeners is self._listeners and self.resources is not None
        return self.resources if self.reused_listeners else None

    def get(self, route: object, protocol: str, domain: str) -> BuiltRoute | None:
        key = (id(route), protocol, domain)
        hit = self._last.get(key)
        if hit is None or hit[0] is not route:
            return None
        self._fresh[key] = hit
        self.hits += 1
        return hit[1]

    def put(self, route: object, protocol: str, domain: str, data: BuiltRoute) -> None:
        self._fresh[(id(route), protocol, domain)] = (route, data)

    def end(
        self, listeners: object, resources: XdsResources, users: dict[str, list[Origin]]
    ) -> None:
        if not self.reused_listeners:  # else no route was looked up: keep them all
            self._last = self._fresh
        self._fresh = {}
        self._listeners = listeners
        self.resources = resources
        self.users = users


class ResourceSet:
    """Accumulates resources while building; `freeze()` serializes and hashes them once."""

    def __init__(self, route_cache: BuildCache | None = None) -> None:
        self._by_type: dict[str, dict[str, Any]] = {t: {} for t in TYPE_URLS}
        # dicts used as insertion-ordered sets: membership must stay O(1) with 10k routes.
        self._origins: dict[Key, dict[Origin, None]] = {}
        # Most parts are added once: kept as given, merged only on a second add.
        self._parts: dict[PartKey, tuple[Origin, ...]] = {}
        self._route_facts: dict[str, tuple[RouteFacts, ...]] = {}
        self.route_cache = route_cache

    def add(self, type_url: str, name: str, message: Any, origins: tuple[Origin, ...]) -> None:
        self._by_type[type_url][name] = message
        self.add_origins(type_url, name, origins)

    def has(self, type_url: str, name: str) -> bool:
        return name in self._by_type[type_url]

    def add_origins(self, type_url: str, name: str, origins: tuple[Origin, ...]) -> None:
        self._origins.setdefault((type_url, name), {}).update(dict.fromkeys(origins))

    def add_part(self, key: PartKey, origins: tuple[Origin, ...]) -> None:
        known = self._parts.get(key)
        if known is None:
            self._parts[key] = origins
        else:
            self._parts[key] = tuple(dict.fromkeys((*known, *origins)))

    def set_route_facts(self, config: str, facts: tuple[RouteFacts, ...]) -> None:
        """The facts of every route of RouteConfiguration `config` (`validate` trusts them)."""
        self._route_facts[config] = facts

    def adopt(self, previous: XdsResources, type_urls: tuple[str, ...]) -> None:
        """Take these types' resources from a previous build, as they were."""
        for t in type_urls:
            self._by_type[t].update(previous.by_type[t])
            for name in previous.by_type[t]:
                self._origins[(t, name)] = dict.fromkeys(previous.origins.get((t, name), ()))
        for key, origins in previous.part_origins.items():
            if key[0] in type_urls:
                self._parts[key] = origins
        if ROUTE in type_urls:
            self._route_facts.update(previous.route_facts)

    def freeze(self, previous: XdsResources | None = None) -> XdsResources:
        """Serialize and hash; a message that is the very object of `previous` keeps its
        bytes and version."""
        serialized: dict[Key, bytes] = {}
        versions: dict[Key, str] = {}
        for type_url, items in self._by_type.items():
            before = previous.by_type[type_url] if previous is not None else {}
            for name, message in items.items():
                key = (type_url, name)
                if previous is not None and before.get(name) is message:
                    serialized[key] = previous.serialized[key]
                    versions[key] = previous.versions[key]
                    continue
                data = message.SerializeToString(deterministic=True)
                serialized[key] = data
                versions[key] = version_of(data)
        return XdsResources(
            by_type=MappingProxyType(
                {t: MappingProxyType(dict(items)) for t, items in self._by_type.items()}
            ),
            serialized=MappingProxyType(serialized),
            versions=MappingProxyType(versions),
            origins=MappingProxyType({k: tuple(v) for k, v in self._origins.items()}),
            part_origins=MappingProxyType(dict(self._parts)),
            route_facts=MappingProxyType(dict(self._route_facts)),
        )
