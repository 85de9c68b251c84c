"""The routes behind a rejected RouteConfiguration when Envoy's message names none.

Envoy rejects a whole RouteConfiguration for one bad route, and its message does not always
quote a value that pins the route (`:-prefixed or host headers may not be removed`, a proto
constraint). Then the rejected configuration is bisected by route object, offline: Envoy's
own `--mode validate`, the same binary with the runtime values the running Envoy reports
(an operator's `/runtime_modify` included), is asked about halves of it. Offline, because
bisecting through the live Envoy would publish configurations without the innocent routes
and drop their traffic while it searches. It costs one validation (~0.1 s) per halving:
about log2(routes) + 1 runs. A rejection that needs two routes together (neither half alone
is rejected) is not pinned: guessing would quarantine an innocent route.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from envoy.config.bootstrap.v3 import bootstrap_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)

from hatchway.ads.verdict import Rejection
from hatchway.ir import Origin
from hatchway.runtime.envoy import envoy_binary
from hatchway.xds import ROUTE, XdsResources, message_to_dict
from hatchway.xds.routes import route_clusters
from hatchway.xds.telemetry import owner_of

log = logging.getLogger("hatchway.culprit")

VALIDATE_TIMEOUT_S = 30.0


async def runtime_values(admin_url: str | None) -> dict[str, Any]:
    """The running Envoy's runtime (`/runtime` final values); {} if it cannot say."""
    if not admin_url:
        return {}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(f"{admin_url}/runtime") as resp,
        ):
            body = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return {}
    entries = body.get("entries", {}) if isinstance(body, dict) else {}
    return {k: v["final_value"] for k, v in entries.items() if "final_value" in v}


async def find(rej: Rejection, resources: XdsResources, runtime: Mapping[str, Any]) -> list[Origin]:
    """The route objects whose routes alone make Envoy reject `rej`'s RouteConfiguration."""
    cfg = resources.routes.get(rej.name) if rej.type_url == ROUTE else None
    hcm = _hcm_for(resources, rej.name)
    if cfg is None or hcm is None:
        return []
    owners = _owners(cfg)
    suspects = list(dict.fromkeys(o for objs in owners.values() for o in objs))
    with tempfile.TemporaryDirectory(prefix="hatchway-culprit-") as tmp:

        async def refused(objs: Sequence[Origin]) -> bool:
            keep = set(objs)
            subset = _subset(cfg, owners, keep)
            return await _rejected(Path(tmp), hcm, subset, runtime)

        if not suspects or not await refused(suspects):
            return []  # offline Envoy accepts it all: not reproducible, not pinned
        while len(suspects) > 1:
            half = len(suspects) // 2
            first, second = suspects[:half], suspects[half:]
            if await refused(first):
                suspects = first
            elif await refused(second):
                suspects = second
            else:
                return []  # only together: a conflict between routes
    return suspects


def _hcm_for(resources: XdsResources, rc_name: str) -> Any | None:
    for lis in resources.listeners.values():
        for chain in [*lis.filter_chains, lis.default_filter_chain]:
            for f in chain.filters:
                if f.typed_config.Is(hcm_pb2.HttpConnectionManager.DESCRIPTOR):
                    h = hcm_pb2.HttpConnectionManager()
                    f.typed_config.Unpack(h)
                    if h.HasField("rds") and h.rds.route_config_name == rc_name:
                        return h
    return None


def _owners(cfg: Any) -> dict[tuple[int, int], list[Origin]]:
    """(virtual host, route) index -> the route objects it comes from (none: always kept)."""
    out: dict[tuple[int, int], list[Origin]] = {}
    for i, vh in enumerate(cfg.virtual_hosts):
        for j, r in enumerate(vh.routes):
            owner = owner_of(r)
            out[(i, j)] = [owner] if owner is not None else []
    return out


def _subset(cfg: Any, owners: Mapping[tuple[int, int], list[Origin]], keep: set[Origin]) -> Any:
    """`cfg` with only the routes of objects in `keep` (and routes of no route object)."""
    out = route_pb2.RouteConfiguration()
    out.CopyFrom(cfg)
    for i, vh in enumerate(out.virtual_hosts):
        routes = [
            r
            for j, r in enumerate(cfg.virtual_hosts[i].routes)
            if not owners[(i, j)] or keep.intersection(owners[(i, j)])
        ]
        del vh.routes[:]
        vh.routes.extend(routes)
    return out


async def _rejected(tmp: Path, hcm: Any, cfg: Any, runtime: Mapping[str, Any]) -> bool:
    config = tmp / "validate.json"
    config.write_text(json.dumps(message_to_dict(_bootstrap(hcm, cfg, runtime))))
    proc = await asyncio.create_subprocess_exec(
        envoy_binary(),
        "--mode",
        "validate",
        "-c",
        str(config),
        "-l",
        "critical",
        "--concurrency",
        "1",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        return await asyncio.wait_for(proc.wait(), VALIDATE_TIMEOUT_S) != 0
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise


def _bootstrap(hcm: Any, cfg: Any, runtime: Mapping[str, Any]) -> Any:
    """One listener whose HCM holds `cfg` inline, and the clusters its routes name."""
    boot = bootstrap_pb2.Bootstrap()
    boot.node.id = boot.node.cluster = "hatchway-culprit"
    h = hcm_pb2.HttpConnectionManager()
    h.CopyFrom(hcm)
    h.ClearField("rds")
    h.route_config.CopyFrom(cfg)
    lis = listener_pb2.Listener(name="culprit")
    lis.address.socket_address.address = "127.0.0.1"
    lis.address.socket_address.port_value = 1
    f = lis.filter_chains.add().filters.add()
    f.name = "envoy.filters.network.http_connection_manager"
    f.typed_config.Pack(h)
    boot.static_resources.listeners.append(lis)
    names = dict.fromkeys(
        c for vh in cfg.virtual_hosts for r in vh.routes for c in route_clusters(r)
    )
    for name in names:
        c = boot.static_resources.clusters.add()
        c.name = name
        c.type = c.STATIC
        c.connect_timeout.seconds = 1
    if runtime:
        layer = boot.layered_runtime.layers.add()
        layer.name = "running"
        layer.static_layer.update(dict(runtime))
    return boot
