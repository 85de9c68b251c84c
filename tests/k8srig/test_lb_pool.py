"""The load-balancer allocator's bookkeeping (hack/k8s/rig/lb.py), without an API server."""

from __future__ import annotations

from rig.lb import Pool, ingress_ips, wants_address


def test_hands_out_free_addresses_in_order_and_keeps_them() -> None:
    pool = Pool("198.19.8.0/30")  # two usable addresses: .1 and .2
    assert pool.decide("a/x", None).ip == "198.19.8.1"
    assert pool.decide("a/y", None).ip == "198.19.8.2"
    assert pool.decide("a/x", None).ip == "198.19.8.1"  # the same Service keeps its address
    full = pool.decide("a/z", None)
    assert full.ip is None and full.problem is not None and "exhausted" in full.problem
    assert pool.release("a/x") == "198.19.8.1"
    assert pool.decide("a/z", None).ip == "198.19.8.1"


def test_requested_address_is_honoured_only_when_free_and_in_the_pool() -> None:
    pool = Pool("198.19.8.0/24")
    assert pool.decide("a/x", "198.19.8.7").ip == "198.19.8.7"
    taken = pool.decide("a/y", "198.19.8.7")
    assert taken.ip is None and taken.problem == (
        "requested address 198.19.8.7 is in use by Service a/x"
    )
    for outside in ("203.0.113.1", "198.19.8.0", "198.19.8.255", "not-an-ip"):
        bad = pool.decide("a/y", outside)
        assert bad.ip is None and bad.problem is not None and "not in the pool" in bad.problem
    # Changing the request moves the Service and frees its old address.
    assert pool.decide("a/x", "198.19.8.9").ip == "198.19.8.9"
    assert pool.decide("a/y", "198.19.8.7").ip == "198.19.8.7"


def test_restore_takes_back_status_addresses_after_a_restart() -> None:
    pool = Pool("198.19.8.0/24")
    assert pool.restore("a/x", "198.19.8.5")
    assert not pool.restore("a/y", "198.19.8.5")  # already someone's
    assert not pool.restore("a/y", "10.0.0.1")  # not ours
    assert pool.decide("a/x", None).ip == "198.19.8.5"
    assert pool.decide("a/y", None).ip == "198.19.8.1"


def test_only_class_less_load_balancer_services_want_an_address() -> None:
    lb = {"spec": {"type": "LoadBalancer"}}
    assert wants_address(lb)
    assert not wants_address({"spec": {"type": "LoadBalancer", "loadBalancerClass": "x.io/lb"}})
    assert not wants_address({"spec": {"type": "ClusterIP"}})
    svc = {"status": {"loadBalancer": {"ingress": [{"ip": "198.19.8.3"}, {"hostname": "h"}]}}}
    assert ingress_ips(svc) == ["198.19.8.3"]
