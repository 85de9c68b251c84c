"""A DNS responder standing in for the coredns image (`python -m podrunner.dns`).

The UDPRoute test only needs some answer to an A query for `foo.bar.com.` sent through the
gateway. This answers the zones whose Corefile block enables `whoami` with an A record holding
the client's address (what coredns' whoami reports), and refuses every other name: it forwards
nothing, so the run never sends traffic off the machine.
"""

from __future__ import annotations

import argparse
import re
import socket
import struct


def whoami_zones(corefile: str) -> list[str]:
    """Zones of the server blocks that use the whoami plugin, lower-case, dot-terminated."""
    zones: list[str] = []
    for m in re.finditer(r"^\s*([^\s{]+)\s*\{([^}]*)\}", corefile, re.MULTILINE):
        if re.search(r"^\s*whoami\b", m.group(2), re.MULTILINE):
            zone = m.group(1).split(":")[0].lower().rstrip(".") + "."
            zones.append("." if zone == ".." else zone)
    return zones


def _qname(packet: bytes, offset: int) -> tuple[str, int]:
    labels: list[str] = []
    while True:
        length = packet[offset]
        offset += 1
        if length == 0:
            return ".".join(labels).lower() + ".", offset
        labels.append(packet[offset : offset + length].decode("ascii", "replace"))
        offset += length


def in_zone(name: str, zones: list[str]) -> bool:
    return any(z in (".", name) or name.endswith("." + z) for z in zones)


def answer(query: bytes, client_ip: str, zones: list[str]) -> bytes | None:
    if len(query) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", query[:6])
    if qdcount != 1:
        return None
    name, end = _qname(query, 12)
    qtype, _qclass = struct.unpack("!HH", query[end : end + 4])
    question = query[12 : end + 4]
    rd = flags & 0x0100
    ok = in_zone(name, zones)
    rcode = 0 if ok else 5  # REFUSED: nothing is forwarded
    records = b""
    ancount = 0
    if ok and qtype == 1 and ":" not in client_ip:
        # Name compression pointer to the question's name at offset 12.
        records = struct.pack("!HHHIH", 0xC00C, 1, 1, 0, 4) + socket.inet_aton(client_ip)
        ancount = 1
    header = struct.pack("!HHHHHH", qid, 0x8400 | rd | rcode, 1, ancount, 0, 0)
    return header + question + records


def main() -> None:
    parser = argparse.ArgumentParser(prog="podrunner.dns")
    parser.add_argument("-conf", "--conf", dest="conf", required=True)
    parser.add_argument("--port", type=int, default=53)
    args = parser.parse_args()
    with open(args.conf, encoding="utf-8") as f:
        zones = whoami_zones(f.read())
    print(f"dns responder: whoami zones {zones}", flush=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", args.port))
    while True:
        data, peer = sock.recvfrom(4096)
        try:
            reply = answer(data, peer[0], zones)
        except (IndexError, struct.error, UnicodeError):
            reply = None
        if reply is not None:
            sock.sendto(reply, peer)
            print(f"answered query from {peer[0]}", flush=True)


if __name__ == "__main__":
    main()
