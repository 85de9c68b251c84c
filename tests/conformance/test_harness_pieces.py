"""The run's bookkeeping: per-test results from the suite log."""

from __future__ import annotations

from summarize import results

LOG = """=== RUN   TestConformance
    --- PASS: TestConformance/HTTPRouteWeight (12.50s)
        --- PASS: TestConformance/HTTPRouteWeight/sub (1.00s)
    --- FAIL: TestConformance/GatewayStaticAddresses (60.02s)
    --- SKIP: TestConformance/MeshBasic (0.00s)
--- FAIL: TestConformance (100.00s)
"""


def test_results_keep_only_first_level_tests() -> None:
    assert results(LOG) == {
        "HTTPRouteWeight": ("PASS", 12.5),
        "GatewayStaticAddresses": ("FAIL", 60.02),
        "MeshBasic": ("SKIP", 0.0),
    }
