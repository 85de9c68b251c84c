"""Route-only changes take the incremental path, and it never changes a result: after any
sequence of HTTPRoute additions, removals and edits, the translation equals a fresh one."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from hatchway.model.routes import HTTPRoute
from hatchway.model.snapshot import Snapshot
from hatchway.render import dump_yaml, ir_to_dicts, report_to_dicts
from hatchway.translate import translate
from hatchway.translate.memo import TranslateMemo
from snapshots import parse

from .test_translate_memo import SNAPSHOTS


def _dump(snapshot: Snapshot, memo: TranslateMemo | None) -> str:
    out = translate(snapshot, memo=memo)
    return dump_yaml(report_to_dicts(out.report)) + dump_yaml(ir_to_dicts(out.ir))


def _renamed(route: HTTPRoute, name: str) -> HTTPRoute:
    meta = route.metadata.model_copy(update={"name": name})
    return route.model_copy(update={"metadata": meta})


def _edited(route: HTTPRoute) -> HTTPRoute:
    """The same route with its rules reversed (a new object, another precedence order)."""
    spec = route.spec.model_copy(update={"rules": tuple(reversed(route.spec.rules))})
    return route.model_copy(update={"spec": spec})


def _rehosted(route: HTTPRoute, name: str, hostname: str) -> HTTPRoute:
    spec = route.spec.model_copy(update={"hostnames": (hostname,)})
    return _renamed(route, name).model_copy(update={"spec": spec})


def _steps(snapshot: Snapshot, rng: random.Random, count: int) -> list[Snapshot]:
    """A walk of route-only edits: drop, re-add, edit, add copies under new names, some
    with hostnames no route had (virtual hosts come and go)."""
    out: list[Snapshot] = []
    routes = list(snapshot.http_routes)
    pool = list(snapshot.http_routes)
    for step in range(count):
        action = rng.choice(("drop", "add", "edit", "copy", "host"))
        if action == "drop" and routes:
            routes.pop(rng.randrange(len(routes)))
        elif action == "add":
            # A snapshot never holds two objects of one name (loading rejects duplicates).
            names = {r.metadata.name for r in routes}
            missing = [r for r in pool if r.metadata.name not in names]
            if missing:
                routes.insert(rng.randrange(len(routes) + 1), rng.choice(missing))
        elif action == "edit" and routes:
            i = rng.randrange(len(routes))
            old, routes[i] = routes[i], _edited(routes[i])
            pool = [routes[i] if r is old else r for r in pool]
        elif pool:
            if action == "host":
                host = rng.choice(("new.example.com", "other.example.com", "x.test"))
                copy = _rehosted(rng.choice(pool), f"host-{step}", host)
            else:
                copy = _renamed(rng.choice(pool), f"copy-{step}")
            pool.append(copy)
            routes.append(copy)
        out.append(dataclasses.replace(snapshot, http_routes=tuple(routes)))
    return out


@pytest.mark.parametrize("case", sorted(c for c, s in SNAPSHOTS.items() if s.http_routes))
def test_route_changes_equal_fresh_translations(case: str) -> None:
    rng = random.Random(case)
    snapshot = SNAPSHOTS[case]
    memo = TranslateMemo()
    translate(snapshot, memo=memo)
    for variant in _steps(snapshot, rng, 12):
        assert _dump(variant, memo) == _dump(variant, None)


def _route(name: str, hostnames: list[str], path: str, **extra: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "matches": [{"path": {"type": "PathPrefix", "value": path}}],
        "backendRefs": [{"name": "web", "port": 80}],
    }
    rule.update(extra)
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"parentRefs": [{"name": "gw"}], "hostnames": hostnames, "rules": [rule]},
    }


_LISTENERS = [
    {"name": "any", "port": 8080, "protocol": "HTTP"},
    {"name": "a", "port": 8080, "protocol": "HTTP", "hostname": "a.example.com"},
    {"name": "wild", "port": 8080, "protocol": "HTTP", "hostname": "*.example.com"},
]


def _gateway_and_service(listeners: list[dict[str, Any]] = _LISTENERS) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "hatchway"},
            "spec": {"controllerName": "hatchway.dev/gateway-controller"},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "gw", "namespace": "default"},
            "spec": {
                "gatewayClassName": "hatchway",
                "listeners": listeners,
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"ports": [{"port": 80}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "api", "namespace": "default"},
            "spec": {"ports": [{"port": 80}]},
        },
    ]


def _many(n: int) -> Snapshot:
    hosts = [["a.example.com"], ["b.example.com"], ["*.example.com"], [], ["c.other"]]
    bodies = _gateway_and_service() + [
        _route(f"r{i}", hosts[i % len(hosts)], f"/p{i % 7}" + ("/x" if i % 3 else ""))
        for i in range(n)
    ]
    return parse(bodies, "delta").snapshot


def test_route_changes_take_the_incremental_path() -> None:
    """Routes come and go on existing hostnames: no full translation, same results."""
    snapshot = _many(60)
    extra = parse(
        [
            _route("new-a", ["a.example.com"], "/p1/x"),
            _route("new-any", [], "/"),
            _route("new-wild", ["*.example.com"], "/p3"),
        ],
        "delta",
    ).snapshot.http_routes
    memo = TranslateMemo()
    translate(snapshot, memo=memo)
    routes = list(snapshot.http_routes)
    for step in range(12):
        if step % 3 == 2:
            routes.pop(step)
        else:
            routes.append(extra[step % len(extra)] if step < 3 else _edited(routes[step]))
            if step >= 3:
                routes.pop(step)
        variant = dataclasses.replace(snapshot, http_routes=tuple(routes))
        assert _dump(variant, memo) == _dump(variant, None)
        assert memo.delta_used, f"step {step} took the full path"


def _finding_refs(snapshot: Snapshot, memo: TranslateMemo) -> set[str]:
    return {w.object for w in translate(snapshot, memo=memo).report.warnings if w.code}


def test_parent_findings_follow_incremental_changes() -> None:
    """A route added or removed on the incremental path brings or takes its parentRef
    finding (a Gateway that does not exist), and the other routes' findings stay."""
    snapshot = _many(20)
    orphans = [
        {
            **_route(f"orphan-{i}", [], f"/o{i}"),
            "spec": {
                **_route(f"orphan-{i}", [], f"/o{i}")["spec"],
                "parentRefs": [{"name": "gone"}],
            },
        }
        for i in range(2)
    ]
    first, second = parse(orphans, "delta").snapshot.http_routes
    memo = TranslateMemo()
    base = dataclasses.replace(snapshot, http_routes=(*snapshot.http_routes, first))
    assert "HTTPRoute/default/orphan-0" in _finding_refs(base, memo)
    both = dataclasses.replace(base, http_routes=(*base.http_routes, second))
    assert {"HTTPRoute/default/orphan-0", "HTTPRoute/default/orphan-1"} <= _finding_refs(both, memo)
    assert memo.delta_used
    back = dataclasses.replace(both, http_routes=(*snapshot.http_routes, second))
    found = _finding_refs(back, memo)
    assert memo.delta_used
    assert "HTTPRoute/default/orphan-1" in found
    assert "HTTPRoute/default/orphan-0" not in found
    assert _dump(back, memo) == _dump(back, None)


def test_hostnames_come_and_go_incrementally() -> None:
    """Routes with hostnames of their own: a new hostname adds a virtual host and the last
    route with it takes it away, without a full translation."""
    hosts = [["a.example.com"], ["b.example.com"], ["c.other"]]
    bodies = _gateway_and_service([{"name": "any", "port": 8080, "protocol": "HTTP"}])
    bodies += [_route(f"r{i}", hosts[i % 3], f"/p{i}") for i in range(12)]
    snapshot = parse(bodies, "delta").snapshot
    new = parse(
        [
            _route("n1", ["new.example.com"], "/"),
            _route("n2", ["new.example.com"], "/n2"),
            _route("n3", ["*.example.com"], "/w"),
        ],
        "delta",
    ).snapshot.http_routes
    memo = TranslateMemo()
    translate(snapshot, memo=memo)
    base = snapshot.http_routes
    for routes, incremental in (
        ((*base, new[0]), True),  # new.example.com comes
        ((*base, new[0], new[1]), True),
        ((*base, new[1]), True),
        (base, True),  # ...and goes with its last route
        # A wildcard hostname: its own virtual host, and its matches in those it covers.
        ((*base, new[2]), True),
        # new.example.com would get the wildcard's matches too: translated in full.
        ((*base, new[2], new[0]), False),
        ((*base, new[2]), False),
    ):
        variant = dataclasses.replace(snapshot, http_routes=routes)
        assert _dump(variant, memo) == _dump(variant, None)
        assert memo.delta_used == incremental, [r.metadata.name for r in routes]


def test_changes_beyond_routes_take_the_full_path() -> None:
    snapshot = _many(30)
    memo = TranslateMemo()
    translate(snapshot, memo=memo)
    # A hostname no route had before adds a virtual host.
    new_host = parse([_route("n", ["z.example.com"], "/")], "delta").snapshot
    variant = dataclasses.replace(
        snapshot, http_routes=(*snapshot.http_routes, *new_host.http_routes)
    )
    assert _dump(variant, memo) == _dump(variant, None)
    assert not memo.delta_used
    # ...and back: the last route with that hostname removes it.
    assert _dump(snapshot, memo) == _dump(snapshot, None)
    assert not memo.delta_used
    # A route to a Service no route used yet adds a cluster.
    other = parse(
        [_route("o", ["a.example.com"], "/o", backendRefs=[{"name": "api", "port": 80}])], "delta"
    ).snapshot
    variant = dataclasses.replace(snapshot, http_routes=(*snapshot.http_routes, *other.http_routes))
    assert _dump(variant, memo) == _dump(variant, None)
    assert not memo.delta_used
    # The same edit again, from a state the full path left: now incremental.
    variant2 = dataclasses.replace(variant, http_routes=variant.http_routes[1:])
    assert _dump(variant2, memo) == _dump(variant2, None)
    assert memo.delta_used
