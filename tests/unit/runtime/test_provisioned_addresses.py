"""A provisioned Gateway's addresses, read off its Service as the load balancer left it."""

from __future__ import annotations

import datetime as dt

from hatchway.model.gateway import Gateway
from hatchway.runtime.provisioned import ALLOCATION_GRACE, _addresses

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def _gateway(*ips: str) -> Gateway:
    return Gateway.model_validate(
        {
            "metadata": {"name": "gw", "namespace": "ns"},
            "spec": {
                "gatewayClassName": "hatchway",
                "addresses": [{"type": "IPAddress", "value": ip} for ip in ips],
                "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
            },
        }
    )


def _service(age: dt.timedelta, *ingress: str) -> dict[str, object]:
    created = (NOW - age).isoformat().replace("+00:00", "Z")
    return {
        "metadata": {"creationTimestamp": created},
        "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in ingress]}},
    }


def test_assigned_addresses_are_reported_and_bound_everywhere() -> None:
    got = _addresses(_gateway(), _service(dt.timedelta(seconds=1), "198.19.8.1"), NOW)
    assert got.bind == ("0.0.0.0",) and got.reported == (("IPAddress", "198.19.8.1"),)
    assert got.pending is None and got.unusable == ()


def test_nothing_assigned_yet_is_pending_within_the_grace() -> None:
    got = _addresses(_gateway("203.0.113.1"), _service(dt.timedelta(seconds=1)), NOW)
    assert got.pending is not None and got.unusable == ()


def test_a_requested_address_never_assigned_is_unusable_after_the_grace() -> None:
    late = ALLOCATION_GRACE + dt.timedelta(seconds=1)
    got = _addresses(_gateway("203.0.113.1"), _service(late), NOW)
    assert got.unusable == ("203.0.113.1",) and got.pending is None


def test_a_requested_address_not_among_those_assigned_is_unusable() -> None:
    got = _addresses(
        _gateway("203.0.113.1", "198.19.8.9"), _service(dt.timedelta(0), "198.19.8.9"), NOW
    )
    assert got.unusable == ("203.0.113.1",)
    assert got.reported == (("IPAddress", "198.19.8.9"),)
