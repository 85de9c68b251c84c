"""A NACK that names no route is pinned by bisecting the rejected RouteConfiguration with
the real Envoy's validate mode, under the running Envoy's runtime values."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from hatchway import ir, xds
from hatchway.ads.verdict import Rejection
from hatchway.runtime import culprit
from hatchway.runtime.quarantine import culprits
from unit.xds.ir_samples import http_ir, route, vhost

pytestmark = pytest.mark.e2e


def _config(*routes: ir.Route) -> tuple[xds.XdsResources, str]:
    resources = xds.build(http_ir(vhost("*", *routes), clusters=("echo",)))
    (name,) = resources.routes
    return resources, name


def _routes(n: int) -> list[ir.Route]:
    return [route(f"r{i}", f"/r{i}") for i in range(n)]


def test_a_route_envoy_refuses_without_quoting_it_is_found_by_halves() -> None:
    routes = _routes(9)
    # Envoy says ":-prefixed or host headers may not be removed": no value, no route name.
    routes[6] = replace(routes[6], request_headers=ir.HeaderModifier(remove=("host",)))
    resources, name = _config(*routes)
    rej = Rejection(xds.ROUTE, name, "1", ":-prefixed or host headers may not be removed")
    assert culprits(rej, resources) == []  # the quote-based pinning cannot tell
    found = asyncio.run(culprit.find(rej, resources, {}))
    assert found == [ir.Origin("HTTPRoute", "default", "r6")]


def test_the_running_envoys_runtime_values_are_used() -> None:
    routes = _routes(5)
    routes[3] = replace(
        routes[3], match=ir.Match(ir.PathMatch(ir.PathMatchType.REGEX, "/re/(a|b|c)[0-9]+"))
    )
    resources, name = _config(*routes)
    rej = Rejection(xds.ROUTE, name, "1", "rejected")
    # Under the bootstrap's limit the configuration is fine: nothing to pin.
    assert asyncio.run(culprit.find(rej, resources, {})) == []
    # As an operator lowered it with /runtime_modify (values come back from /runtime as text).
    lowered = {"re2.max_program_size.error_level": "10"}
    assert asyncio.run(culprit.find(rej, resources, lowered)) == [
        ir.Origin("HTTPRoute", "default", "r3")
    ]
