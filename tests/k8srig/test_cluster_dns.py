"""The rig's cluster DNS (hack/k8s/rig/dns.py): its answers, without a network."""

from __future__ import annotations

import socket
import struct

from rig.dns import Records, answer


def _query(name: str, qtype: int = 1) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.strip(".").split("."))
    return (
        struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0)
        + labels
        + b"\0"
        + struct.pack("!HH", qtype, 1)
    )


def _records() -> Records:
    r = Records()
    meta = {"name": "hatchway", "namespace": "hatchway-system"}
    r.set_service({"metadata": meta, "spec": {"clusterIP": "198.19.4.10"}}, deleted=False)
    headless = {"name": "db", "namespace": "app"}
    r.set_service({"metadata": headless, "spec": {"clusterIP": "None"}}, deleted=False)
    r.set_slice(
        {
            "metadata": {
                "name": "db-x",
                "namespace": "app",
                "labels": {"kubernetes.io/service-name": "db"},
            },
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["198.19.0.7"], "conditions": {"ready": True}},
                {"addresses": ["198.19.0.8"], "conditions": {"ready": False}},
            ],
        },
        deleted=False,
    )
    return r


def _rcode_and_ips(reply: bytes | None) -> tuple[int, list[str]]:
    assert reply is not None
    rcode = struct.unpack("!H", reply[2:4])[0] & 0xF
    count = struct.unpack("!H", reply[6:8])[0]
    return rcode, [
        socket.inet_ntoa(reply[len(reply) - 16 * i + 12 : len(reply) - 16 * i + 16])
        for i in range(count, 0, -1)
    ]


def test_service_names_resolve_to_cluster_ips_and_ready_endpoints() -> None:
    r = _records()
    assert _rcode_and_ips(answer(_query("hatchway.hatchway-system.svc.cluster.local."), r)) == (
        0,
        ["198.19.4.10"],
    )
    assert _rcode_and_ips(answer(_query("DB.app.svc.cluster.local."), r)) == (0, ["198.19.0.7"])
    # AAAA: the name exists, no IPv6 address (the resolver then uses the A answer).
    assert _rcode_and_ips(answer(_query("hatchway.hatchway-system.svc.cluster.local.", 28), r)) == (
        0,
        [],
    )
    # A search-path miss is NXDOMAIN; anything outside cluster.local is refused, not forwarded.
    assert (
        _rcode_and_ips(answer(_query("hatchway.hatchway-system.svc.app.svc.cluster.local."), r))[0]
        == 3
    )
    assert _rcode_and_ips(answer(_query("example.com."), r))[0] == 5
    r.set_service(
        {"metadata": {"name": "hatchway", "namespace": "hatchway-system"}, "spec": {}}, deleted=True
    )
    assert _rcode_and_ips(answer(_query("hatchway.hatchway-system.svc.cluster.local."), r))[0] == 3
