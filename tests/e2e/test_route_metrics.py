"""Per-route and per-backend metrics end to end: real traffic through a real Envoy, read back
from serve's `/metrics` by Gateway API names, and the same mapping in a proxy Pod's view."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from e2e.echo import EchoPool
from e2e.harness import Hatchway, free_port, http_request, wait_for, write_yaml
from manifests import backend, gateway, gateway_class, l4_service, listener, parent, route

pytestmark = pytest.mark.e2e

Factory = Callable[..., Hatchway]
GW = {"gateway_namespace": "infra", "gateway": "edge", "listener": "web"}
SHOP = {**GW, "namespace": "apps", "route": "shop", "route_kind": "HTTPRoute"}


@pytest.fixture
def config(tmp_path: Path, echo_pool: EchoPool) -> dict[str, Any]:
    """HTTPRoute apps/shop: rule 0 `/cart` -> cart; rule 1 `/slow` -> cart with a 200 ms
    request timeout; rule 2 `/down` -> a Service whose endpoint refuses connections, retried
    on connect failure."""
    cart = echo_pool.servers.get("cart") or echo_pool.start("cart")
    port = free_port()
    docs: list[Any] = [
        gateway_class(),
        gateway(
            "edge",
            [listener("web", port, "HTTP", allowedRoutes={"namespaces": {"from": "All"}})],
            namespace="infra",
        ),
        route(
            "HTTPRoute",
            "shop",
            [parent("edge", "web", namespace="infra")],
            [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/cart"}}],
                    "backendRefs": [backend("cart", 8080)],
                },
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/slow"}}],
                    "backendRefs": [backend("cart", 8080)],
                    "timeouts": {"request": "200ms"},
                },
                {
                    "name": "down",
                    "matches": [{"path": {"type": "PathPrefix", "value": "/down"}}],
                    "backendRefs": [backend("down", 9090)],
                    "retry": {"attempts": 2},
                },
            ],
            namespace="apps",
        ),
        *l4_service("cart", cart.port, namespace="apps", port=8080),
        *l4_service("down", free_port(), namespace="apps", port=9090),
    ]
    directory = tmp_path / "config"
    directory.mkdir()
    write_yaml(directory / "all.yaml", docs)
    return {"dir": directory, "port": port, "tmp": tmp_path}


def _metrics(text: str) -> dict[str, list[Any]]:
    """Family name -> samples."""
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def _value(samples: list[Any], name: str, **labels: str) -> float | None:
    for s in samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return float(s.value)
    return None


def _traffic(port: int) -> None:
    for i in range(5):
        assert http_request(port, f"/cart/{i}", host=f"h{i}.example").status == 200
    for _ in range(2):
        r = http_request(port, "/cart/x", host="a.example", headers={"x-echo-status": "503"})
        assert r.status == 503
    r = http_request(port, "/slow", host="a.example", headers={"x-echo-delay-ms": "1000"})
    assert r.status == 504
    for _ in range(3):
        assert http_request(port, "/down", host="a.example").status == 503
    assert http_request(port, "/nowhere", host="a.example").status == 404


def test_route_and_backend_metrics_by_gateway_api_names(
    config: dict[str, Any], hatchway_factory: Factory
) -> None:
    hw = hatchway_factory(config["dir"])
    _traffic(config["port"])

    def counted() -> dict[str, list[Any]] | None:
        m = _metrics(hw.admin("/metrics").body.decode())
        done = _value(m["hatchway_route_requests"], "hatchway_route_requests_total", rule="2")
        # Envoy publishes histograms at its stats flush (every 5 s).
        timed = _value(
            m["hatchway_route_request_duration_seconds"],
            "hatchway_route_request_duration_seconds_count",
            rule="2",
        )
        return m if done == 3 and timed == 3 else None

    m = wait_for(counted, 15, "the /down requests counted and timed", every=0.3)
    req = m["hatchway_route_requests"]
    total = "hatchway_route_requests_total"
    assert _value(req, total, **SHOP, rule="0", code="2xx") == 5
    assert _value(req, total, **SHOP, rule="0", code="5xx") == 2
    assert _value(req, total, **SHOP, rule="1", code="5xx") == 1  # the 504
    assert _value(req, total, **SHOP, rule="2", code="5xx") == 3
    # Labels come from the configuration: 5 hosts and paths made no new series; the 404 that
    # no route matched is not a route's.
    label_sets = {tuple(sorted(s.labels.items())) for s in req}
    assert len(label_sets) == 4
    assert {s.labels["code"] for s in req} == {"2xx", "5xx"}

    dur = m["hatchway_route_request_duration_seconds"]
    count = "hatchway_route_request_duration_seconds_count"
    assert _value(dur, count, **SHOP, rule="0") == 7
    slow_fast = _value(
        dur, "hatchway_route_request_duration_seconds_bucket", **SHOP, rule="1", le="0.1"
    )
    slow_slower = _value(
        dur, "hatchway_route_request_duration_seconds_bucket", **SHOP, rule="1", le="0.25"
    )
    assert (slow_fast, slow_slower) == (0, 1)  # the 200 ms timeout, in seconds
    assert (
        _value(dur, "hatchway_route_request_duration_seconds_sum", **SHOP, rule="1") >= 0.15
    )  # Envoy sums approximately (log-linear bins)

    down = {"namespace": "apps", "service": "down", "port": "9090"}
    cart = {"namespace": "apps", "service": "cart", "port": "8080"}
    fails = _value(
        m["hatchway_backend_connect_failures"], "hatchway_backend_connect_failures_total", **down
    )
    assert fails is not None and fails >= 9  # 3 requests x (1 try + 2 retries)
    retries = _value(m["hatchway_backend_retries"], "hatchway_backend_retries_total", **down)
    assert retries == 6
    assert _value(m["hatchway_backend_timeouts"], "hatchway_backend_timeouts_total", **cart) == 1

    text = hw.admin("/metrics").body.decode()
    assert "_created" not in text
    assert 'hatchway_build_info{envoy="1.40.0"' in text
    assert "process_cpu_seconds_total" in text and "process_resident_memory_bytes" in text
    acks = _value(m["hatchway_xds_ack_seconds"], "hatchway_xds_ack_seconds_count")
    assert acks is not None and acks >= 1
    envoy = hw.admin("/metrics/envoy").body.decode()
    assert "envoy_cluster_upstream_cx_total" in envoy and "# TYPE" in envoy


def test_a_proxy_pod_maps_the_same_stats(
    config: dict[str, Any], hatchway_factory: Factory, tmp_path: Path
) -> None:
    """`hatchway proxy`'s scrape port (its view and admin server, as the proxy runs them)
    over an Envoy that got its configuration over xDS: the names come from what Envoy runs,
    nothing else."""
    from hatchway.runtime.admin import AdminServer
    from hatchway.runtime.proxy import ProxySettings, ProxyView

    state = tmp_path / "state"
    hatchway_factory(config["dir"], extra_args=["--state-dir", str(state)])
    _traffic(config["port"])
    envoy_admin = (state / "envoy-admin-address").read_text().strip()

    class RunningEnvoy:  # what ProxyView reads of the Envoy it supervises
        admin_url = f"http://{envoy_admin}"
        running = True

    settings = ProxySettings("infra/edge", "n", "x", 1, b"", Path("/nonexistent"), state)

    async def scrape() -> tuple[str, str]:
        view = ProxyView(settings, RunningEnvoy())  # type: ignore[arg-type]
        server = AdminServer(view, "127.0.0.1", 0, scrape_only=True)
        port = await server.start()
        try:
            ours = await asyncio.to_thread(http_request, port, "/metrics")
            envoys = await asyncio.to_thread(http_request, port, "/metrics/envoy")
            return ours.body.decode(), envoys.body.decode()
        finally:
            await server.stop()

    def scraped() -> tuple[str, str] | None:
        ours, envoys = asyncio.run(scrape())
        m = _metrics(ours)
        n = _value(m["hatchway_route_requests"], "hatchway_route_requests_total", rule="2")
        return (ours, envoys) if n == 3 else None

    ours, envoys = wait_for(scraped, 10, "the proxy's view of the /down requests", every=0.3)
    m = _metrics(ours)
    assert (
        _value(
            m["hatchway_route_requests"],
            "hatchway_route_requests_total",
            **SHOP,
            rule="0",
            code="2xx",
        )
        == 5
    )
    assert "hatchway_build_info" in ours and "process_cpu_seconds_total" in ours
    assert "_created" not in ours
    assert "envoy_cluster_upstream_cx_total" in envoys


_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "info": ("_info",),
}
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy/helm/hatchway/dashboards/hatchway.json"


def _dashboard_metrics() -> set[str]:
    """Every metric name a query of the Grafana dashboard (panels and variables) names."""
    dash = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    queries += [v["query"]["query"] for v in dash["templating"]["list"] if v["type"] == "query"]
    assert len(queries) >= 20
    return {m for q in queries for m in re.findall(r"\b(?:hatchway|process)_[a-z0-9_]+", q)}


def test_every_dashboard_query_names_a_metric_that_exists(
    config: dict[str, Any], hatchway_factory: Factory
) -> None:
    hw = hatchway_factory(config["dir"])
    _traffic(config["port"])

    def names() -> tuple[set[str], set[str]] | None:
        """(series with samples, series names the families declare) on /metrics."""
        families = list(text_string_to_metric_families(hw.admin("/metrics").body.decode()))
        sampled = {s.name for f in families for s in f.samples}
        declared = {f"{f.name}{suffix}" for f in families for suffix in _SUFFIXES[f.type]}
        # Durations show once Envoy published them (every 5 s).
        if "hatchway_route_request_duration_seconds_bucket" not in sampled:
            return None
        return sampled, declared

    sampled, declared = wait_for(names, 15, "durations on /metrics", every=0.5)
    wanted = _dashboard_metrics()
    assert {"hatchway_route_requests_total", "hatchway_backend_timeouts_total"} <= wanted
    assert wanted - declared == set()
    # What this traffic produces has series: routes, durations, every backend counter.
    quiet = {"hatchway_warnings", "hatchway_xds_nacks_total"}  # no warning, no NACK here
    assert wanted - sampled == quiet
