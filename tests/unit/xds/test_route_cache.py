"""A BuildCache never changes the output: cached builds are byte-identical to fresh ones."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from hatchway import ir as ir_mod
from hatchway import xds
from hatchway.ir import IR, FilterChain, Listener
from hatchway.ir.codec import from_dict

GOLDEN = Path(__file__).parents[2] / "golden" / "xds"
IRS = {p.parent.name: p for p in sorted(GOLDEN.glob("*/ir.yaml"))}


def _ir(case: str) -> IR:
    return from_dict(IR, yaml.safe_load(IRS[case].read_text()))


def _bytes(ir: IR, cache: xds.BuildCache | None) -> dict[tuple[str, str], bytes]:
    return dict(xds.build(ir, cache=cache).serialized)


def _routes(ir: IR) -> int:
    return sum(
        len(vh.routes)
        for lis in ir.listeners
        for chain in lis.chains
        for vh in chain.virtual_hosts or ()
    )


def _drop_first_route(ir: IR) -> IR:
    """The same IR objects but for one virtual host that lost its first route."""
    listeners: list[Listener] = []
    done = False
    for lis in ir.listeners:
        chains: list[FilterChain] = []
        for chain in lis.chains:
            vhosts = list(chain.virtual_hosts or ())
            for i, vh in enumerate(vhosts):
                if not done and vh.routes:
                    vhosts[i] = dataclasses.replace(vh, routes=vh.routes[1:])
                    done = True
            chains.append(dataclasses.replace(chain, virtual_hosts=tuple(vhosts)))
        listeners.append(dataclasses.replace(lis, chains=tuple(chains)))
    return dataclasses.replace(ir, listeners=tuple(listeners))


@pytest.mark.parametrize("case", sorted(IRS))
def test_cached_build_is_byte_identical(case: str) -> None:
    ir = _ir(case)
    fresh = _bytes(ir, None)
    cache = xds.BuildCache()
    assert _bytes(ir, cache) == fresh
    assert cache.hits == 0
    assert _bytes(ir, cache) == fresh
    assert cache.reused_listeners, "the very same listeners: the listener side is reused"
    same_routes = dataclasses.replace(ir, listeners=tuple(x for x in ir.listeners))  # a new tuple
    assert _bytes(same_routes, cache) == fresh
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
    assert _bytes(moved, cache) == _bytes(moved, None)
    assert cache.reused_listeners
    smaller = _drop_first_route(ir)
    assert _bytes(smaller, cache) == _bytes(smaller, None)
    assert _bytes(ir, cache) == fresh


def test_settings_change_invalidates() -> None:
    ir = next(_ir(c) for c in sorted(IRS) if _routes(_ir(c)))
    cache = xds.BuildCache()
    _bytes(ir, cache)
    other = xds.XdsSettings(default_session_cookie="other-cookie")
    got = dict(xds.build(ir, other, cache=cache).serialized)
    assert got == dict(xds.build(ir, other).serialized)
    assert cache.hits == 0


def test_one_cache_across_cases() -> None:
    cache = xds.BuildCache()
    irs = {c: _ir(c) for c in IRS}
    for case in [*IRS, *reversed(list(IRS))]:
        assert _bytes(irs[case], cache) == _bytes(irs[case], None), case
