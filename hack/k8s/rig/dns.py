"""`python -m rig.dns --kubeconfig F --listen IP[:PORT]`: the rig's cluster DNS.

Pods resolve Service names as on a cluster (`name`, `name.ns`, `name.ns.svc`,
`name.ns.svc.cluster.local`, through the search path the pod runner writes into their
/etc/resolv.conf): A records for ClusterIPs (a headless Service's ready endpoint addresses),
watched from the API server. It answers `cluster.local` only: every other name is REFUSED and
nothing is forwarded, so no query leaves the machine.
"""

from __future__ import annotations

import argparse
import logging
import socket
import struct
import threading
import time
from typing import Any

from lightkube import Client, KubeConfig
from lightkube.resources.core_v1 import Service
from lightkube.resources.discovery_v1 import EndpointSlice

log = logging.getLogger("rig.dns")
ZONE = "svc.cluster.local."
NOERROR, NXDOMAIN, REFUSED = 0, 3, 5


class Records:
    """`name.ns.svc.cluster.local.` -> addresses (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ips: dict[str, list[str]] = {}
        self._headless: dict[str, dict[str, list[str]]] = {}  # name -> slice -> addresses

    def set_service(self, svc: dict[str, Any], deleted: bool) -> None:
        meta, spec = svc["metadata"], svc.get("spec") or {}
        name = f"{meta['name']}.{meta['namespace']}.{ZONE}"
        with self._lock:
            if deleted:
                self._ips.pop(name, None)
                self._headless.pop(name, None)
            elif spec.get("clusterIP") not in (None, "", "None"):
                self._ips[name] = [str(ip) for ip in spec.get("clusterIPs") or [spec["clusterIP"]]]
            else:
                self._ips.pop(name, None)
                self._headless.setdefault(name, {})

    def set_slice(self, eps: dict[str, Any], deleted: bool) -> None:
        meta = eps["metadata"]
        svc = (meta.get("labels") or {}).get("kubernetes.io/service-name")
        if not svc or eps.get("addressType") != "IPv4":
            return
        name = f"{svc}.{meta['namespace']}.{ZONE}"
        ready = [
            str(e["addresses"][0])
            for e in eps.get("endpoints") or []
            if (e.get("conditions") or {}).get("ready") is not False
        ]
        with self._lock:
            slices = self._headless.setdefault(name, {})
            if deleted:
                slices.pop(meta["name"], None)
            else:
                slices[meta["name"]] = ready

    def lookup(self, name: str) -> list[str] | None:
        """Addresses of `name` (lower-case, dot-terminated); None if no such Service."""
        with self._lock:
            if name in self._ips:
                return list(self._ips[name])
            if name in self._headless:
                return [ip for ips in self._headless[name].values() for ip in ips]
        return None


def _qname(packet: bytes, offset: int) -> tuple[str, int]:
    labels: list[str] = []
    while packet[offset]:
        length = packet[offset]
        labels.append(packet[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    return ".".join(labels).lower() + ".", offset + 1


def answer(query: bytes, records: Records) -> bytes | None:
    """The reply to one query (A records only; AAAA and others get an empty answer)."""
    if len(query) < 12 or struct.unpack("!H", query[4:6])[0] != 1:
        return None
    qid, flags = struct.unpack("!HH", query[:4])
    name, end = _qname(query, 12)
    qtype = struct.unpack("!H", query[end : end + 2])[0]
    question = query[12 : end + 4]
    rcode, rrs = REFUSED, b""
    count = 0
    if name.endswith("cluster.local."):
        ips = records.lookup(name)
        rcode = NXDOMAIN if ips is None else NOERROR
        if ips and qtype == 1:
            for ip in ips:
                rrs += struct.pack("!HHHIH", 0xC00C, 1, 1, 5, 4) + socket.inet_aton(ip)
            count = len(ips)
    header = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100) | rcode, 1, count, 0, 0)
    return header + question + rrs


def _watch(client: Client, res: Any, apply: Any) -> None:
    while True:
        try:
            for op, obj in client.watch(res, namespace="*"):
                apply(obj.to_dict(), op == "DELETED")
        except Exception:
            log.exception("watch of %s failed; again in 1 s", res.__name__)
            time.sleep(1)


def main() -> None:
    p = argparse.ArgumentParser(prog="rig.dns")
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--listen", required=True, help="IP[:PORT] (port 53 by default)")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    host, _, port = args.listen.partition(":")
    client = Client(KubeConfig.from_file(args.kubeconfig), field_manager="hatchway-rig-dns")
    records = Records()
    for res, apply in ((Service, records.set_service), (EndpointSlice, records.set_slice)):
        threading.Thread(target=_watch, args=(client, res, apply), daemon=True).start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, int(port or 53)))
    log.info("cluster DNS for %s on %s", ZONE, args.listen)
    while True:
        data, peer = sock.recvfrom(4096)
        try:
            reply = answer(data, records)
        except (IndexError, struct.error):
            reply = None
        if reply is not None:
            sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
