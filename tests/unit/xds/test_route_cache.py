"""A BuildCache never changes the output: cached builds equal fresh ones, byte for byte and
origin for origin, whatever path (reused, spliced, rebuilt virtual host) produced them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from envoy.config.route.v3 import route_pb2

from hatchway import ir as ir_mod
from hatchway import xds
from hatchway.ir import IR, FilterChain, Listener, Origin, Route, VirtualHost
from hatchway.ir.codec import from_dict
from hatchway.xds.names import route_config_name
from hatchway.xds.resources import Messages, Parsed, UniqueOrigins, union_origins
from hatchway.xds.routes import config_facts

from . import ir_samples as s

GOLDEN = Path(__file__).parents[2] / "golden" / "xds"
IRS = {p.parent.name: p for p in sorted(GOLDEN.glob("*/ir.yaml"))}

VhostEdit = Callable[[VirtualHost], VirtualHost]


def _ir(case: str) -> IR:
    return from_dict(IR, yaml.safe_load(IRS[case].read_text()))


def _output(res: xds.XdsResources) -> dict[str, Any]:
    """Everything a build hands on, in the orders that are observable."""
    return {
        "serialized": dict(res.serialized),
        "versions": dict(res.versions),
        "names": {t: list(m) for t, m in res.by_type.items()},
        "origins": dict(res.origins),
        "part_origins": dict(res.part_origins),
        "config_facts": dict(res.config_facts),
    }


def _expected_origins(ir: IR) -> dict[tuple[str, str], tuple[Origin, ...]]:
    """Origins of route configurations and clusters, the plain way (one pass, dicts)."""
    out: dict[tuple[str, str], tuple[Origin, ...]] = {}
    users: dict[str, dict[Origin, None]] = {}
    for lis in ir.listeners:
        for chain in lis.chains:
            if chain.l4 is not None:
                for b in chain.l4.backends:
                    if b.cluster is not None:
                        users.setdefault(b.cluster, {})[chain.l4.origin] = None
            if chain.virtual_hosts is None:
                continue
            config = [chain.listener]
            for vh in chain.virtual_hosts:
                for r in vh.routes:
                    clusters = [m.cluster for m in r.mirrors]
                    if isinstance(r.action, ir_mod.Forward):
                        clusters[:0] = [b.cluster for b in r.action.backends if b.cluster]
                    for c in clusters:
                        users.setdefault(c, {})[r.origin] = None
                if not (lis.protocol is ir_mod.Protocol.HTTPS and vh.listener != chain.listener):
                    config += [vh.listener, *(r.origin for r in vh.routes)]
            out[(xds.ROUTE, route_config_name(lis, chain))] = tuple(dict.fromkeys(config))
    for c in ir.clusters:
        out[(xds.CLUSTER, c.name)] = tuple(dict.fromkeys((c.service, *users.get(c.name, ()))))
    return out


def _check(ir: IR, cache: xds.BuildCache) -> xds.XdsResources:
    """Build with `cache`; assert the result equals a fresh build's, and its origins the
    plain way's (the fresh build shares the merging code)."""
    got = xds.build(ir, cache=cache)
    fresh = xds.build(ir)
    assert _output(got) == _output(fresh)
    for key, origins in _expected_origins(ir).items():
        assert got.origins[key] == origins, key
    assert xds.validate(got) == xds.validate(fresh)
    for key, data in got.serialized.items():  # messages and bytes agree
        assert got.by_type[key[0]][key[1]].SerializeToString(deterministic=True) == data
    return got


def _routes(ir: IR) -> int:
    return sum(
        len(vh.routes)
        for lis in ir.listeners
        for chain in lis.chains
        for vh in chain.virtual_hosts or ()
    )


def _edit(ir: IR, edit: VhostEdit) -> IR:
    """The same IR objects but for every virtual host, passed through `edit` (shared
    virtual hosts stay shared)."""
    done: dict[int, VirtualHost] = {}

    def one(vh: VirtualHost) -> VirtualHost:
        if id(vh) not in done:
            done[id(vh)] = edit(vh)
        return done[id(vh)]

    listeners: list[Listener] = []
    for lis in ir.listeners:
        chains: list[FilterChain] = []
        for chain in lis.chains:
            vhosts = chain.virtual_hosts
            if vhosts is not None:
                vhosts = tuple(one(vh) for vh in vhosts)
            chains.append(dataclasses.replace(chain, virtual_hosts=vhosts))
        listeners.append(dataclasses.replace(lis, chains=tuple(chains)))
    return dataclasses.replace(ir, listeners=tuple(listeners))


def _renamed(r: Route, suffix: str) -> Route:
    return dataclasses.replace(
        r, name=r.name + suffix, origin=dataclasses.replace(r.origin, name=r.origin.name + suffix)
    )


def _routes_edit(fn: Callable[[tuple[Route, ...]], tuple[Route, ...]]) -> VhostEdit:
    return lambda vh: dataclasses.replace(vh, routes=fn(vh.routes))


def _mid(routes: tuple[Route, ...]) -> int:
    return len(routes) // 2


EDITS: dict[str, VhostEdit] = {
    "insert": _routes_edit(
        lambda rs: (*rs[: _mid(rs)], _renamed(rs[0], "-new"), *rs[_mid(rs) :]) if rs else rs
    ),
    "append": _routes_edit(lambda rs: (*rs, _renamed(rs[0], "-end")) if rs else rs),
    "remove": _routes_edit(lambda rs: rs[: _mid(rs)] + rs[_mid(rs) + 1 :]),
    "remove-first": _routes_edit(lambda rs: rs[1:]),
    "remove-all": _routes_edit(lambda rs: ()),
    # A changed route keeps its name (and part): a new object in the same place.
    "replace": _routes_edit(
        lambda rs: (
            (*rs[: _mid(rs)], dataclasses.replace(rs[_mid(rs)]), *rs[_mid(rs) + 1 :]) if rs else rs
        )
    ),
    "same-routes-new-tuple": _routes_edit(lambda rs: (*rs,)),  # equal, not the same
    "reverse": _routes_edit(lambda rs: rs[::-1]),
    "duplicate": _routes_edit(lambda rs: (*rs, *rs)),
    "same-name-twice": _routes_edit(
        lambda rs: (
            (*rs, dataclasses.replace(rs[0], origin=_renamed(rs[0], "-o").origin)) if rs else rs
        )
    ),
    "rename-vhost": lambda vh: dataclasses.replace(vh, name=vh.name + "-renamed"),
}


@pytest.mark.parametrize("case", sorted(IRS))
def test_cached_build_equals_fresh(case: str) -> None:
    ir = _ir(case)
    cache = xds.BuildCache()
    _check(ir, cache)
    assert cache.hits == 0
    _check(ir, cache)
    assert cache.reused_listeners, "the very same listeners: the listener side is reused"
    same_routes = dataclasses.replace(ir, listeners=tuple(x for x in ir.listeners))  # a new tuple
    _check(same_routes, cache)
    assert not cache.reused_listeners
    assert cache.hits >= _routes(ir), "every route of an unchanged IR comes from the cache"
    # Only clusters changed (endpoints moved): listeners reused, output as if fresh.
    moved = dataclasses.replace(
        same_routes,
        clusters=tuple(
            dataclasses.replace(c, endpoints=(ir_mod.Endpoint("127.0.0.9", 9),))
            for c in ir.clusters
        ),
    )
    _check(moved, cache)
    assert cache.reused_listeners
    _check(ir, cache)


@pytest.mark.parametrize("edit", sorted(EDITS))
@pytest.mark.parametrize("case", sorted(IRS))
def test_edits_equal_fresh(case: str, edit: str) -> None:
    """Each edit, undone, then applied twice over (an edit of an edited IR), one cache."""
    ir = _ir(case)
    cache = xds.BuildCache()
    _check(ir, cache)
    edited = _edit(ir, EDITS[edit])
    _check(edited, cache)
    _check(ir, cache)
    _check(edited, cache)
    _check(_edit(edited, EDITS[edit]), cache)


def _big(n: int, clusters: int = 1) -> IR:
    """One big virtual host, and one of another Gateway listener on the same port."""
    routes = [s.route(f"r{i:03}", f"/p{i}", f"default/c{i % clusters}:8080") for i in range(n)]
    other = VirtualHost("http/b.example.com", "b.example.com", s.section("b"), (s.route("b"),))
    return s.http_ir(
        s.vhost("a.example.com", *routes),
        other,
        clusters=(*(f"c{i}" for i in range(clusters)), "echo"),
    )


def test_one_route_change_splices_a_big_virtual_host() -> None:
    ir = _big(40)
    cache = xds.BuildCache()
    _check(ir, cache)
    vh = ir.listeners[0].chains[0].virtual_hosts[0]  # type: ignore[index]
    for edit in ("insert", "remove", "replace", "append", "remove-first"):
        edited = _edit(ir, lambda v, e=edit: EDITS[e](v) if v is vh else v)
        _check(edited, cache)
        assert cache.spliced == 1, edit
        assert cache.hits == 41 - (edit == "remove") - (edit in ("replace", "remove-first")), edit
        _check(ir, cache)
        assert cache.spliced == 1, edit


def test_cluster_users_follow_splices() -> None:
    """A route moving to another cluster, the last user of a cluster going away."""
    ir = _big(40, clusters=2)
    cache = xds.BuildCache()
    _check(ir, cache)
    vh = ir.listeners[0].chains[0].virtual_hosts[0]  # type: ignore[index]
    uniform = _big(40, clusters=1)  # every route to c0, c1 unused but still a cluster
    uniform = dataclasses.replace(uniform, clusters=ir.clusters)
    _check(uniform, cache)
    moved = _edit(
        uniform,
        lambda v: (
            dataclasses.replace(
                v, routes=(*v.routes[:5], s.route("r005", "/p5", "default/c1:8080"), *v.routes[6:])
            )
            if v.name == vh.name
            else v
        ),
    )
    got = _check(moved, cache)
    assert cache.spliced == 1
    assert got.origins[(xds.CLUSTER, "default/c1:8080")][1:] == (
        moved_origin := s.route("r005").origin,
    )
    assert moved_origin not in got.origins[(xds.CLUSTER, "default/c0:8080")]
    back = _check(uniform, cache)
    assert back.origins[(xds.CLUSTER, "default/c1:8080")] == (
        ir_mod.Origin("Service", "default", "c1"),
    )


def test_routes_shared_by_virtual_hosts() -> None:
    """The same routes under two hostnames: one origin each in the route configuration."""
    ir = _big(40)
    vh = ir.listeners[0].chains[0].virtual_hosts[0]  # type: ignore[index]
    twice = _edit(
        ir, lambda v: dataclasses.replace(v, routes=vh.routes[10:20]) if v is not vh else v
    )
    cache = xds.BuildCache()
    got = _check(twice, cache)
    config = next(iter(got.routes))
    assert len(got.origins[(xds.ROUTE, config)]) == 2 + 40  # 2 listeners, each route once
    _check(_edit(twice, EDITS["insert"]), cache)
    _check(_edit(twice, EDITS["remove"]), cache)


def test_misdirected_only_virtual_host_still_uses_its_clusters() -> None:
    """HTTPS: a virtual host of another Gateway listener (421 here) whose own listener
    has no chain: not built, but its routes still use their clusters."""
    mine = s.vhost("a.example.com", s.route("a", cluster="default/c0:8080"))
    theirs = VirtualHost("https/b", "b.example.com", s.section("b"), (s.route("b"),))
    base = s.http_ir(mine, theirs, clusters=("c0", "echo"))
    lis = base.listeners[0]
    https = dataclasses.replace(lis, name="https/0.0.0.0/443", protocol=ir_mod.Protocol.HTTPS)
    ir = dataclasses.replace(base, listeners=(https,))
    cache = xds.BuildCache()
    got = _check(ir, cache)
    assert s.route("b").origin in got.origins[(xds.CLUSTER, "default/echo:8080")]
    _check(_edit(ir, EDITS["append"]), cache)


def _colliding(origin: ir_mod.Origin, like: ir_mod.Origin) -> ir_mod.Origin:
    """`origin` with the hash of `like` (a collision, to reach the exact paths)."""
    object.__setattr__(origin, "_hash", hash(like))
    return origin


def test_hash_collisions_keep_origins_apart() -> None:
    a = ir_mod.Origin("HTTPRoute", "default", "a")
    b = _colliding(ir_mod.Origin("HTTPRoute", "default", "b"), a)
    assert hash(a) == hash(b) and a != b
    one = UniqueOrigins.of((a,))
    assert UniqueOrigins.of((a, b, a)).items == (a, b)
    assert union_origins([one, UniqueOrigins.of((b,)), one]).items == (a, b)
    assert union_origins([UniqueOrigins.of((a, b)), one]).items == (a, b)
    # Through a build: two routes whose origins collide, spliced and rebuilt.
    ir = _big(40)
    vh = ir.listeners[0].chains[0].virtual_hosts[0]  # type: ignore[index]
    r = vh.routes[7]
    clash = dataclasses.replace(
        r, name="clash", origin=_colliding(dataclasses.replace(r.origin, name="clash"), r.origin)
    )
    cache = xds.BuildCache()
    _check(ir, cache)
    clashing = _edit(ir, lambda v: dataclasses.replace(v, routes=(*v.routes, clash)))
    got = _check(clashing, cache)
    assert clash.origin in got.origins[(xds.CLUSTER, "default/c0:8080")]
    _check(ir, cache)


def test_settings_change_invalidates() -> None:
    ir = next(_ir(c) for c in sorted(IRS) if _routes(_ir(c)))
    cache = xds.BuildCache()
    _check(ir, cache)
    other = xds.XdsSettings(default_session_cookie="other-cookie")
    got = xds.build(ir, other, cache=cache)
    assert _output(got) == _output(xds.build(ir, other))
    assert cache.hits == 0


def test_one_cache_across_cases() -> None:
    cache = xds.BuildCache()
    irs = {c: _ir(c) for c in IRS}
    for case in [*IRS, *reversed(list(IRS))]:
        _check(irs[case], cache)


@pytest.mark.parametrize("case", sorted(IRS))
def test_route_configurations_are_parsed_only_when_read(case: str) -> None:
    """Serving needs only the bytes: a build, and validating it, leave each
    RouteConfiguration unparsed; reading one gives exactly the message its bytes hold, and
    the facts `validate` trusted are those the message holds."""
    res = xds.build(_ir(case), cache=xds.BuildCache())
    routes = res.by_type[xds.ROUTE]
    assert isinstance(routes, Messages)
    xds.validate(res)
    assert all(name in routes for name in routes)
    holders = [routes.entries[name] for name in routes]
    assert all(isinstance(h, Parsed) and not h.parsed for h in holders)
    for name in routes:
        data = res.serialized[(xds.ROUTE, name)]
        assert routes[name] == route_pb2.RouteConfiguration.FromString(data)
        assert routes[name] is routes[name]  # parsed once
        # Read back from the message: the same virtual hosts and per-route findings (parts
        # are named after IR routes, which Envoy's route names no longer spell).
        read, kept = config_facts(routes[name]), res.config_facts[name]
        assert read.vhosts == kept.vhosts
        assert [(f.clusters, f.regex_problems) for f in read.routes] == [
            (f.clusters, f.regex_problems) for f in kept.routes
        ]


def test_clusters_are_built_again_only_when_their_ir_changes() -> None:
    """A route change builds no cluster again; an endpoint change builds that one cluster
    (1,000 clusters cost ~13 ms per build when every one was built again)."""
    ir = _big(40, clusters=3)
    cache = xds.BuildCache()
    first = _check(ir, cache)
    vh = ir.listeners[0].chains[0].virtual_hosts[0]  # type: ignore[index]
    routed = _edit(ir, lambda v: EDITS["insert"](v) if v is vh else v)
    second = _check(routed, cache)
    for t in (xds.CLUSTER, xds.ENDPOINT):
        for name in first.by_type[t]:
            assert second.by_type[t][name] is first.by_type[t][name], (t, name)
    c1 = next(c for c in ir.clusters if c.name == "default/c1:8080")
    moved = dataclasses.replace(c1, endpoints=(ir_mod.Endpoint("127.0.0.9", 9),))
    third = _check(
        dataclasses.replace(
            routed, clusters=tuple(moved if c is c1 else c for c in routed.clusters)
        ),
        cache,
    )
    rebuilt = {n for n in first.clusters if third.endpoints[n] is not second.endpoints[n]}
    assert rebuilt == {"default/c1:8080"}
    assert third.serialized[(xds.ENDPOINT, c1.name)] != second.serialized[(xds.ENDPOINT, c1.name)]
