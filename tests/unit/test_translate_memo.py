"""A TranslateMemo never changes a result: translations that reuse per-route work from
earlier snapshots equal fresh ones, over every golden case and edits between them."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from hatchway.model.snapshot import Snapshot
from hatchway.render import dump_yaml, ir_to_dicts, report_to_dicts
from hatchway.translate import translate
from hatchway.translate.memo import TranslateMemo
from snapshots import file_snapshot

CASES = Path(__file__).parents[1] / "golden" / "translate"
ROUTE_KINDS = ("http_routes", "grpc_routes", "tls_routes", "tcp_routes", "udp_routes")


def _snapshot(case: str) -> Snapshot:
    return file_snapshot(CASES / case / "input.yaml", case)


SNAPSHOTS = {p.parent.name: _snapshot(p.parent.name) for p in sorted(CASES.glob("*/input.yaml"))}


def _dump(snapshot: Snapshot, memo: TranslateMemo | None) -> str:
    out = translate(snapshot, memo=memo)
    return dump_yaml(report_to_dicts(out.report)) + dump_yaml(ir_to_dicts(out.ir))


def _variants(snapshot: Snapshot, rng: random.Random) -> list[Snapshot]:
    """Edits that keep most objects identical: drop a route, reorder routes, swap a
    Service for an equal copy (a new object: backend work must be redone), drop a Gateway."""
    out: list[Snapshot] = []
    for kind in ROUTE_KINDS:
        routes = getattr(snapshot, kind)
        if routes:
            i = rng.randrange(len(routes))
            out.append(dataclasses.replace(snapshot, **{kind: routes[:i] + routes[i + 1 :]}))
            shuffled = list(routes)
            rng.shuffle(shuffled)
            out.append(dataclasses.replace(snapshot, **{kind: tuple(shuffled)}))
    if snapshot.services:
        copy = snapshot.services[0].model_copy()
        out.append(dataclasses.replace(snapshot, services=(copy, *snapshot.services[1:])))
    if snapshot.gateways:
        out.append(dataclasses.replace(snapshot, gateways=snapshot.gateways[1:]))
        # Same routes, other verdicts: no listener hostname matches any more.
        gw = snapshot.gateways[0].model_copy(deep=True)
        for listener in gw.spec.listeners:
            object.__setattr__(listener, "hostname", "nothing.invalid")
        out.append(dataclasses.replace(snapshot, gateways=(gw, *snapshot.gateways[1:])))
        moved = snapshot.gateways[0].model_copy(deep=True)
        for listener in moved.spec.listeners:
            object.__setattr__(listener, "port", listener.port + 1000)
        out.append(dataclasses.replace(snapshot, gateways=(moved, *snapshot.gateways[1:])))
    if snapshot.namespaces:
        out.append(dataclasses.replace(snapshot, namespaces=()))
    if snapshot.endpoint_slices:
        out.append(dataclasses.replace(snapshot, endpoint_slices=snapshot.endpoint_slices[1:]))
        out.append(dataclasses.replace(snapshot, endpoint_slices=()))
    return out


@pytest.mark.parametrize("case", sorted(SNAPSHOTS))
def test_memo_matches_fresh_translation(case: str) -> None:
    rng = random.Random(case)
    snapshot = SNAPSHOTS[case]
    memo = TranslateMemo()
    expected = _dump(snapshot, None)
    assert _dump(snapshot, memo) == expected
    assert _dump(snapshot, memo) == expected
    assert memo.endpoints_only, "an unchanged snapshot needs no translation"
    for kind in ROUTE_KINDS:
        routes = getattr(snapshot, kind)
        if routes:
            variant = dataclasses.replace(snapshot, **{kind: routes[1:]})
            assert _dump(variant, memo) == _dump(variant, None)
            total = sum(len(getattr(variant, k)) for k in ROUTE_KINDS)
            assert memo.hits == total, "every route left must be reused"
            assert _dump(snapshot, memo) == expected
    for variant in _variants(snapshot, rng):
        assert _dump(variant, memo) == _dump(variant, None)
        assert _dump(snapshot, memo) == expected  # and back


def test_memo_across_unrelated_snapshots() -> None:
    """One memo through every case in turn (objects of other cases must never leak in)."""
    memo = TranslateMemo()
    names = sorted(SNAPSHOTS)
    for case in [*names, *reversed(names)]:
        assert _dump(SNAPSHOTS[case], memo) == _dump(SNAPSHOTS[case], None), case


def test_endpoint_changes_take_the_short_path() -> None:
    """Only EndpointSlices changed: clusters get the new endpoints, nothing else is redone."""
    snapshot = next(s for s in SNAPSHOTS.values() if len(s.endpoint_slices) >= 2)
    memo = TranslateMemo()
    translate(snapshot, memo=memo)
    for slices in (snapshot.endpoint_slices[1:], (), snapshot.endpoint_slices):
        variant = dataclasses.replace(snapshot, endpoint_slices=slices)
        assert _dump(variant, memo) == _dump(variant, None)
        assert memo.endpoints_only
    edited = dataclasses.replace(snapshot, services=snapshot.services[1:])
    assert _dump(edited, memo) == _dump(edited, None)
    assert not memo.endpoints_only


def test_changed_route_is_recompiled() -> None:
    """A route edited under the same name (a new generation) is translated anew; the
    others are reused."""
    snapshot = next(s for s in SNAPSHOTS.values() if len(s.http_routes) >= 2)
    memo = TranslateMemo()
    translate(snapshot, memo=memo)
    route = snapshot.http_routes[0]
    meta = route.metadata.model_copy(update={"generation": route.metadata.generation + 1})
    edited = route.model_copy(update={"metadata": meta})
    variant = dataclasses.replace(snapshot, http_routes=(edited, *snapshot.http_routes[1:]))
    memo.delta = None  # the full path (the route-only delta counts hits its own way)
    assert _dump(variant, memo) == _dump(variant, None)
    assert memo.hits == len(snapshot.http_routes) - 1


def test_equal_copies_are_reused() -> None:
    """The memo keys work by what an object is (kind, namespace, name and its value), not by
    the Python object: a snapshot parsed again from the same documents reuses all of it."""
    case = next(c for c, s in SNAPSHOTS.items() if len(s.http_routes) >= 2)
    memo = TranslateMemo()
    translate(SNAPSHOTS[case], memo=memo)
    again = _snapshot(case)  # new objects throughout, equal in value
    assert again.http_routes[0] is not SNAPSHOTS[case].http_routes[0]
    assert _dump(again, memo) == _dump(again, None)
    assert memo.endpoints_only  # nothing but (equal) endpoints to read again
