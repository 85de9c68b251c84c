"""Per-Gateway addresses from `--gateway-address-pool`: distinct, stable, restart-proof."""

from __future__ import annotations

import ipaddress

import pytest

from hatchway.model.gateway import Gateway
from hatchway.runtime.address_pool import (
    AddressPool,
    Request,
    bindable,
    needs_address,
    reported_addresses,
    requested_ips,
)

POOL = "127.10.0.0/16"


def gateway(addresses: list[dict[str, str]] | None = None) -> Gateway:
    spec: dict[str, object] = {
        "gatewayClassName": "hatchway",
        "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
    }
    if addresses is not None:
        spec["addresses"] = addresses
    return Gateway.model_validate({"metadata": {"name": "gw", "namespace": "ns"}, "spec": spec})


def test_each_gateway_gets_its_own_address_in_the_pool() -> None:
    keys = [("ns", f"gw-{i}") for i in range(200)]
    got = AddressPool(POOL).assign(Request(k) for k in keys)
    assert set(got) == set(keys)
    assert len(set(got.values())) == len(keys)
    assert all(ipaddress.ip_address(v) in ipaddress.ip_network(POOL) for v in got.values())


def test_assignment_does_not_depend_on_order_or_process() -> None:
    keys = [("a", "x"), ("b", "y"), ("c", "z")]
    first = AddressPool(POOL).assign(Request(k) for k in keys)
    second = AddressPool(POOL).assign(Request(k) for k in reversed(keys))
    assert first == second


def test_an_assignment_is_kept_while_the_gateway_exists_and_released_after() -> None:
    pool = AddressPool("127.10.0.0/30")  # two usable addresses
    first = pool.assign([Request(("ns", "a")), Request(("ns", "b"))])
    assert pool.assign([Request(("ns", "a")), Request(("ns", "b"))]) == first
    after = pool.assign([Request(("ns", "b")), Request(("ns", "c"))])
    assert after[("ns", "b")] == first[("ns", "b")]
    assert after[("ns", "c")] == first[("ns", "a")]  # the only free one


def test_after_a_restart_the_reported_address_is_taken_again() -> None:
    reported = "127.10.3.4"
    got = AddressPool(POOL).assign(
        [Request(("ns", "new")), Request(("ns", "old"), reported=("10.0.0.1", reported))]
    )
    assert got[("ns", "old")] == reported
    assert got[("ns", "new")] != reported


def test_reserved_and_outside_addresses_are_not_handed_out() -> None:
    pool = AddressPool("127.10.0.0/30")
    got = pool.assign(
        [Request(("ns", "a"), reported=("127.9.0.1",)), Request(("ns", "b"))],
        reserved=["127.10.0.1"],
    )
    assert got == {("ns", "a"): "127.10.0.2"}  # pool exhausted for b: it gets none


def test_which_gateways_need_an_address() -> None:
    assert needs_address(gateway())
    assert needs_address(gateway([{"type": "IPAddress"}]))
    assert not needs_address(gateway([{"type": "IPAddress", "value": "127.0.0.3"}]))
    assert requested_ips(gateway([{"value": "::1"}, {"value": "nope"}, {"type": "IPAddress"}])) == [
        "::1"
    ]


def test_reported_addresses_read_from_a_cached_body() -> None:
    body = {"status": {"addresses": [{"type": "IPAddress", "value": "127.10.0.9"}, {}]}}
    assert reported_addresses(body) == ("127.10.0.9",)
    assert reported_addresses({"status": None}) == ()
    assert reported_addresses(None) == ()


@pytest.mark.parametrize(
    ("value", "usable"),
    [("127.11.0.1", True), ("::1", True), ("203.0.113.1", False), ("not-an-ip", False)],
)
def test_bindable_probes_this_host(value: str, usable: bool) -> None:
    assert bindable(value) is usable
