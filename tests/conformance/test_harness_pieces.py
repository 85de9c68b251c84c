"""The run's bookkeeping: per-test results from the suite log, and the address stop-gap."""

from __future__ import annotations

from controller_shim import AddressPool, with_address, without_nulls
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


def test_each_gateway_gets_its_own_stable_address() -> None:
    pool = AddressPool("127.10.0.0/30")
    a = with_address({"kind": "Gateway", "metadata": {"uid": "a"}, "spec": {}}, pool)
    b = with_address({"kind": "Gateway", "metadata": {"uid": "b"}, "spec": {}}, pool)
    again = with_address({"kind": "Gateway", "metadata": {"uid": "a"}, "spec": {}}, pool)
    assert a["spec"]["addresses"] == [{"type": "IPAddress", "value": "127.10.0.1"}]
    assert b["spec"]["addresses"] == [{"type": "IPAddress", "value": "127.10.0.2"}]
    assert again["spec"]["addresses"] == a["spec"]["addresses"]


def test_explicit_addresses_are_kept_and_empty_values_filled() -> None:
    pool = AddressPool("127.10.0.0/24")
    fixed = {
        "metadata": {"uid": "x"},
        "spec": {"addresses": [{"type": "IPAddress", "value": "127.1.1.1"}]},
    }
    assert with_address(fixed, pool) is fixed
    empty = {"metadata": {"uid": "y"}, "spec": {"addresses": [{"type": "IPAddress"}]}}
    assert with_address(empty, pool)["spec"]["addresses"] == [
        {"type": "IPAddress", "value": "127.10.0.1"}
    ]


def test_null_endpoint_lists_read_as_empty() -> None:
    body = {"kind": "EndpointSlice", "endpoints": None, "ports": None}
    assert without_nulls(body) == {"kind": "EndpointSlice", "endpoints": [], "ports": []}
