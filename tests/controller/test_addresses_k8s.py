"""`hatchway controller --gateway-address-pool`: each Gateway that names no address gets one of
its own, Envoy listens there, status reports it, and a restart keeps it; a requested address
this host cannot bind gives Programmed=False/AddressNotUsable."""

from __future__ import annotations

import ipaddress
import random
import socket
from pathlib import Path

import pytest
from lightkube import Client

from manifests import gateway_class, http_gateway

from .conftest import ControllerProcess, free_port
from .test_controller_k8s import OURS, RES, create, get, summary, wait_for

pytestmark = pytest.mark.k8s
UNUSABLE = "203.0.113.1"  # TEST-NET-3: no interface here holds it; nothing is sent there


def status_of(client: Client, ns: str, name: str) -> tuple[dict[str, tuple[str, str]], list[str]]:
    st = get(client, "Gateway", ns, name).get("status") or {}
    return summary(st.get("conditions") or []), [a["value"] for a in st.get("addresses") or []]


def programmed_at(client: Client, ns: str, name: str) -> str | None:
    conds, addresses = status_of(client, ns, name)
    if conds.get("Programmed") == ("True", "Programmed") and len(addresses) == 1:
        return addresses[0]
    return None


def listening(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


def test_gateways_get_their_own_stable_addresses_and_unusable_ones_are_reported(
    client: Client, ns: str, tmp_path: Path, kubeconfig: Path
) -> None:
    # A pool of its own, so parallel runs on this machine never hand out the same address.
    pool = ipaddress.ip_network(f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.0/24")
    port = free_port()
    gc = f"gc-{ns}"
    create(client, gateway_class(gc, OURS))
    create(client, http_gateway("none", port, ns, class_name=gc))
    create(
        client, http_gateway("empty", port, ns, class_name=gc, addresses=[{"type": "IPAddress"}])
    )
    static = [{"type": "IPAddress", "value": UNUSABLE}, {"type": "IPAddress", "value": "127.0.0.1"}]
    create(client, http_gateway("static", port, ns, class_name=gc, addresses=static))
    env = {"HATCHWAY_GATEWAY_ADDRESS_POOL": str(pool)}
    first = ControllerProcess(kubeconfig, tmp_path / "controller-0.log", env=env)
    try:
        a = wait_for("Gateway none programmed", lambda: programmed_at(client, ns, "none"))
        b = wait_for("Gateway empty programmed", lambda: programmed_at(client, ns, "empty"))
        assert a != b
        assert ipaddress.ip_address(a) in pool and ipaddress.ip_address(b) in pool
        # Both Gateways use the same port: only their own addresses keep them apart.
        assert wait_for(f"Envoy on {a}:{port}", lambda: listening(a, port))
        assert wait_for(f"Envoy on {b}:{port}", lambda: listening(b, port))
        conds, addresses = wait_for(
            "Gateway static AddressNotUsable",
            lambda: (
                (s := status_of(client, ns, "static"))[0].get("Programmed", ("", ""))[1]
                == "AddressNotUsable"
                and s
            ),
        )
        assert conds["Accepted"] == ("True", "Accepted")
        assert addresses == ["127.0.0.1"]
        assert wait_for("Envoy on 127.0.0.1", lambda: listening("127.0.0.1", port))
    finally:
        first.stop()
    second = ControllerProcess(kubeconfig, tmp_path / "controller-1.log", env=env)
    try:
        assert wait_for(f"Envoy on {a}:{port} again", lambda: listening(a, port))
        assert wait_for(f"Envoy on {b}:{port} again", lambda: listening(b, port))
        assert programmed_at(client, ns, "none") == a
        assert programmed_at(client, ns, "empty") == b
    finally:
        second.stop()
        for name in ("none", "empty", "static"):
            client.delete(RES["Gateway"], name, namespace=ns)
        client.delete(RES["GatewayClass"], gc)
