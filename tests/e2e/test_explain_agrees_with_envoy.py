"""`explain` and Envoy pick the same route, on every golden case, for requests derived from
the routes' own matches (RE2 regexes included, matched the way Envoy's RE2 matches).

All golden cases' HTTP listeners run in one real Envoy, each on its own loopback port, with
every route answering with its own name (a direct response): what Envoy answers is what it
chose. Routing is untouched (same matches, same order, same HCM settings)."""

from __future__ import annotations

import http.client
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from e2e.harness import free_port
from hatchway import ir, xds
from hatchway.explain import Request, explain
from hatchway.status.report import StatusReport
from hatchway.translate import translate
from snapshots import parse_file
from test_xds_golden import envoy_binary, static_bootstrap

pytestmark = pytest.mark.e2e

CASES = Path(__file__).resolve().parents[1] / "golden" / "translate"
PROBES = ("/", "/a", "/abc", "/a/b", "/path1", "/path12", "/x", "/re/alpha1", "/re/delta1")


def _ir(case: Path) -> ir.IR:
    return translate(parse_file(case, "in").snapshot).ir


def _answering(case: str, route: ir.Route, vh: ir.VirtualHost) -> ir.Route:
    """Same match, but the action answers with the route's identity."""
    return ir.Route(
        name=route.name,
        origin=route.origin,
        match=route.match,
        action=ir.DirectResponse(200, f"{case}|{vh.name}|{route.name}"),
        grpc=route.grpc,
        hostname=route.hostname,
    )


def _http_listeners() -> Iterator[tuple[str, ir.Listener]]:
    ports: set[int] = set()
    for case in sorted(CASES.glob("*/input.yaml")):
        name = case.parent.name
        for lis in _ir(case).listeners:
            if lis.protocol is not ir.Protocol.HTTP:
                continue
            chains = tuple(
                replace(
                    c,
                    virtual_hosts=tuple(
                        # Listener ExternalAuth filters run before routing and would answer
                        # for a service this test does not run: routing is what is compared.
                        replace(
                            vh,
                            routes=tuple(_answering(name, r, vh) for r in vh.routes),
                            external_auth=(),
                        )
                        for vh in c.virtual_hosts or ()
                    ),
                )
                for c in lis.chains
            )
            port = free_port()
            while port in ports:  # the OS may hand the same free port out twice
                port = free_port()
            ports.add(port)
            yield (
                name,
                replace(
                    lis,
                    name=f"http/127.0.0.1/{port}",
                    address="127.0.0.1",
                    port=port,
                    chains=chains,
                ),
            )


def _candidates(vh: ir.VirtualHost) -> Iterator[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(method, path?query, headers) requests derived from the virtual host's matches."""
    paths = set(PROBES)
    for r in vh.routes:
        p = r.match.path
        if p.type is not ir.PathMatchType.REGEX:
            paths |= {p.value, p.value.rstrip("/") + "/sub", p.value + "x"}
    for r in vh.routes:
        m = r.match
        headers = tuple(
            (h.name, h.value.strip("^$()").split("|")[0] if h.regex else h.value) for h in m.headers
        )
        query = "&".join(f"{q.name}={q.value}" for q in m.query if not q.regex)
        for path in sorted(paths):
            for hdrs in {(), headers}:
                yield m.method or "GET", path + (f"?{query}" if query else ""), hdrs


def _host(vh: ir.VirtualHost) -> str:
    return "any.example" if vh.domain == "*" else vh.domain.replace("*", "w")


def _envoy_answer(
    port: int, method: str, target: str, host: str, headers: tuple[tuple[str, str], ...]
) -> str | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, target, headers={"Host": host, "Connection": "close", **dict(headers)})
        r = conn.getresponse()
        body = r.read().decode()
        return body if r.status == 200 and body.count("|") == 2 else None
    finally:
        conn.close()


@pytest.fixture(scope="module")
def envoy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[tuple[str, ir.Listener]]]:
    listeners = list(_http_listeners())
    model = ir.IR(listeners=tuple(lis for _, lis in listeners))
    boot = static_bootstrap(xds.build(model))
    admin = free_port()
    boot.admin.address.socket_address.address = "127.0.0.1"
    boot.admin.address.socket_address.port_value = admin
    config = tmp_path_factory.mktemp("explain") / "bootstrap.json"
    config.write_text(json.dumps(xds.message_to_dict(boot)))
    proc = subprocess.Popen(
        [envoy_binary(), "-c", str(config), "-l", "error", "--concurrency", "1",
         "--base-id", str(admin)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", admin, timeout=1)
                conn.request("GET", "/ready")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            assert time.monotonic() < deadline, "Envoy not ready"
            time.sleep(0.1)
        yield listeners
    finally:
        proc.terminate()
        proc.wait(10)


def test_explain_picks_the_route_envoy_picks_on_every_golden_case(
    envoy: list[tuple[str, ir.Listener]],
) -> None:
    disagreements: list[str] = []
    asked = routed = 0
    for case, lis in envoy:
        model = ir.IR(listeners=(lis,))
        for chain in lis.chains:
            for vh in chain.virtual_hosts or ():
                host = _host(vh)
                for method, target, headers in _candidates(vh):
                    url = f"http://{host}:{lis.port}{target}"
                    trace = explain(model, StatusReport(), Request.from_url(url, method, headers))
                    said = (
                        f"{case}|{trace.virtual_host.name}|{trace.route.name}"
                        if trace.route and trace.virtual_host
                        else None
                    )
                    got = _envoy_answer(lis.port, method, target, host, headers)
                    asked += 1
                    routed += got is not None
                    if said != got:
                        disagreements.append(
                            f"{case}: {method} {url} {headers}: explain {said}, Envoy {got}"
                        )
    assert asked > 500 and routed > asked // 4
    assert not disagreements, "\n".join(disagreements[:30])
