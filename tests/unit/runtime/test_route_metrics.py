"""Envoy's stat names back to Gateway API names: exact, and nothing else mistaken for ours."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from hatchway.runtime.route_metrics import DataPlaneMetrics, _backend_key, _code_class

_NONE = 'route_id="infra/edge~web~~~"'
_SHOP = 'route_id="infra/edge~web~apps/shop.v2~HTTPRoute~0"'
ENVOY_TEXT = f"""\
# TYPE envoy_hatchway_route_requests counter
envoy_hatchway_route_requests{{{_NONE},code="404"}} 1
envoy_hatchway_route_requests{{{_SHOP},code="200"}} 5
envoy_hatchway_route_requests{{{_SHOP},code="201"}} 2
envoy_hatchway_route_requests{{{_SHOP},code="0"}} 1
"""
ENVOY_TEXT += """\
# TYPE envoy_cluster_upstream_rq_timeout counter
envoy_cluster_upstream_rq_timeout{envoy_cluster_name="apps/cart_8080"} 2
envoy_cluster_upstream_rq_timeout{envoy_cluster_name="hatchway_xds"} 7
# TYPE envoy_cluster_upstream_rq_per_try_timeout counter
envoy_cluster_upstream_rq_per_try_timeout{envoy_cluster_name="apps/cart_8080"} 1
"""


def test_codes_fold_into_classes() -> None:
    assert [_code_class(c) for c in ("200", "404", "503", "101", "0", "")] == [
        "2xx",
        "4xx",
        "5xx",
        "1xx",
        "none",
        "none",
    ]


def test_backends_from_cluster_stat_names() -> None:
    assert _backend_key("apps/cart_8080") == ("apps", "cart", "8080")
    assert _backend_key("apps/my-svc_53") == ("apps", "my-svc", "53")
    assert _backend_key("hatchway_xds") is None
    assert _backend_key("udp-weighted/udp/127.0.0.1/53") is None


def _families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_families_regroup_envoys_series() -> None:
    m = DataPlaneMetrics()
    m.update(ENVOY_TEXT)
    families = _families(m.render())  # what a Prometheus parser reads of it
    requests = families["hatchway_route_requests"].samples
    assert [
        (s.labels["route"], s.labels["namespace"], s.labels["code"], s.value) for s in requests
    ] == [
        ("shop.v2", "apps", "2xx", 7.0),
        ("shop.v2", "apps", "none", 1.0),
    ]
    assert requests[0].labels["gateway_namespace"] == "infra"
    timeouts = families["hatchway_backend_timeouts"].samples
    assert [(s.labels, s.value) for s in timeouts] == [
        ({"namespace": "apps", "service": "cart", "port": "8080"}, 3.0)
    ]
    # Every family is there before its first sample.
    empty = _families(DataPlaneMetrics().render())
    assert set(empty) == set(families)
