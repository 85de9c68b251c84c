"""Real Envoy, real requests: the invalid-backend mechanisms answer what the spec asks.

- invalid share of weighted backends -> 500 (the never-defined cluster + route
  `cluster_not_found_response_code`), next to a no-endpoint cluster's 503;
- Forward with no valid backend -> 500; for gRPC -> HTTP 200 with grpc-status 14 UNAVAILABLE.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from hatchway import ir, xds
from test_xds_golden import envoy_binary, static_bootstrap

from .ir_samples import GW, section


def _route(name: str, backends: list[str | None], grpc: bool = False) -> ir.Route:
    return ir.Route(
        name=name,
        origin=ir.Origin("HTTPRoute", "default", name),
        match=ir.Match(ir.PathMatch(ir.PathMatchType.PREFIX, f"/{name}")),
        action=ir.Forward(tuple(ir.WeightedBackend(c, 1) for c in backends)),
        grpc=grpc,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def envoy_port(tmp_path: Path) -> Iterator[int]:
    port = _free_port()
    routes = (
        _route("half", ["default/empty:80", None]),
        _route("all", [None]),
        _route("grpc", [None], grpc=True),
    )
    chain = ir.FilterChain(
        "http", section("http"), virtual_hosts=(ir.VirtualHost("v", "*", section("http"), routes),)
    )
    lis = ir.Listener("x", "127.0.0.1", port, ir.Protocol.HTTP, (chain,), (GW,))
    empty = ir.Cluster("default/empty:80", ir.Origin("Service", "default", "empty"), 80)
    boot = static_bootstrap(xds.build(ir.IR(listeners=(lis,), clusters=(empty,))))
    config = tmp_path / "bootstrap.json"
    config.write_text(json.dumps(xds.message_to_dict(boot, show_secrets=True)))
    cmd = [envoy_binary(), "-c", str(config), "--concurrency", "1", "-l", "error"]
    proc = subprocess.Popen([*cmd, "--disable-hot-restart"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


@pytest.mark.e2e
def test_invalid_backend_answers(envoy_port: int) -> None:
    codes = Counter(_get(envoy_port, "/half")[0] for _ in range(40))
    assert set(codes) == {500, 503}  # 1:1 weights; 40 tries miss one side with p ~ 2e-12
    assert _get(envoy_port, "/all")[0] == 500
    status, headers = _get(envoy_port, "/grpc", {"content-type": "application/grpc"})
    assert (status, headers.get("grpc-status")) == (200, "14")
