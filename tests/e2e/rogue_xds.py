"""A rogue xDS client: a process on the gateway's host that is not its Envoy.

Run as a script: `python rogue_xds.py TARGET NODE QUOTE SECONDS [UID]`; with UID (run as root)
it becomes that user before it connects (after its imports: the interpreter itself may live
where only root can read).
It opens a delta ADS stream to TARGET (`host:port` or `unix:/path`) as node NODE and does what
a hostile local process would: subscribes to every cluster, listener and the secrets the
listeners name, ACKs clusters and endpoints so the server sends routes too, then NACKs every
listener and every RouteConfiguration, quoting QUOTE (a value inside a route) so a
quarantine that trusted it would pin the rejection on a real route. It prints one JSON object:
what it received and how the stream ended. Private key material is counted, never printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import grpc
from envoy.config.listener.v3 import listener_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.transport_sockets.tls.v3 import secret_pb2, tls_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

_T = "type.googleapis.com/"
CLUSTER = _T + "envoy.config.cluster.v3.Cluster"
ENDPOINT = _T + "envoy.config.endpoint.v3.ClusterLoadAssignment"
LISTENER = _T + "envoy.config.listener.v3.Listener"
ROUTE = _T + "envoy.config.route.v3.RouteConfiguration"
SECRET = _T + "envoy.extensions.transport_sockets.tls.v3.Secret"


class Rogue:
    def __init__(self, node: str, quote: str) -> None:
        self.node = node
        self.quote = quote
        self.out: asyncio.Queue[discovery_pb2.DeltaDiscoveryRequest | None] = asyncio.Queue()
        self.received: dict[str, int] = {}
        self.private_keys = 0
        self.nacks_sent = 0
        self.first = True
        self.asked: set[str] = set()

    def send(self, type_url: str, **fields: Any) -> None:
        req = discovery_pb2.DeltaDiscoveryRequest(type_url=type_url, **fields)
        if self.first:  # the node goes on the first message only, as Envoy sends it
            self.first = False
            req.node.id = self.node
            req.node.cluster = "hatchway"
        self.out.put_nowait(req)

    async def requests(self) -> Any:
        while (req := await self.out.get()) is not None:
            yield req

    def on_response(self, resp: discovery_pb2.DeltaDiscoveryResponse) -> None:
        kind = resp.type_url.rsplit(".", 1)[-1]
        self.received[kind] = self.received.get(kind, 0) + len(resp.resources)
        if resp.type_url in (LISTENER, ROUTE) and resp.resources:
            names = ", ".join(r.name for r in resp.resources)
            error = {"code": 3, "message": f"rogue: '{self.quote}' in {names} is invalid"}
            self.send(resp.type_url, response_nonce=resp.nonce, error_detail=error)
            self.nacks_sent += 1
        else:
            self.send(resp.type_url, response_nonce=resp.nonce)
        if resp.type_url == CLUSTER and LISTENER not in self.asked:
            # Only now: a write racing the server's refusal would hide its status (gRPC
            # Python aio reports INTERNAL then, grpc/grpc#36066).
            self.asked.add(LISTENER)
            self.send(LISTENER)
        if resp.type_url == CLUSTER and resp.resources:
            self.send(ENDPOINT, resource_names_subscribe=[r.name for r in resp.resources])
        if resp.type_url == LISTENER:
            routes, secrets = _referenced(resp)
            if routes:
                self.send(ROUTE, resource_names_subscribe=sorted(routes))
            if secrets:
                self.send(SECRET, resource_names_subscribe=sorted(secrets))
        if resp.type_url == SECRET:
            for r in resp.resources:
                s = secret_pb2.Secret()
                r.resource.Unpack(s)
                key = s.tls_certificate.private_key
                if key.inline_bytes or key.inline_string:
                    self.private_keys += 1


def _referenced(resp: discovery_pb2.DeltaDiscoveryResponse) -> tuple[set[str], set[str]]:
    routes: set[str] = set()
    secrets: set[str] = set()
    for r in resp.resources:
        lis = listener_pb2.Listener()
        r.resource.Unpack(lis)
        for chain in [*lis.filter_chains, lis.default_filter_chain]:
            ts = chain.transport_socket.typed_config
            if ts.Is(tls_pb2.DownstreamTlsContext.DESCRIPTOR):
                ctx = tls_pb2.DownstreamTlsContext()
                ts.Unpack(ctx)
                refs = ctx.common_tls_context.tls_certificate_sds_secret_configs
                secrets |= {c.name for c in refs}
            for f in chain.filters:
                if f.typed_config.Is(hcm_pb2.HttpConnectionManager.DESCRIPTOR):
                    h = hcm_pb2.HttpConnectionManager()
                    f.typed_config.Unpack(h)
                    routes.add(h.rds.route_config_name)
    return routes, secrets


async def attack(target: str, node: str, quote: str, seconds: float) -> dict[str, Any]:
    rogue = Rogue(node, quote)
    rogue.send(CLUSTER)
    ended = "still open"
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
        call = stub.DeltaAggregatedResources(rogue.requests())
        try:
            async with asyncio.timeout(seconds):
                async for resp in call:
                    rogue.on_response(resp)
            ended = "closed by the server"
        except TimeoutError:
            pass
        except grpc.aio.AioRpcError as exc:
            ended = f"{exc.code().name}: {exc.details()}"
        call.cancel()
    return {
        "ended": ended,
        "received": rogue.received,
        "private_keys": rogue.private_keys,
        "nacks_sent": rogue.nacks_sent,
    }


if __name__ == "__main__":
    target, node, quote, seconds = sys.argv[1:5]
    if len(sys.argv) > 5:
        uid = int(sys.argv[5])
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    print(json.dumps(asyncio.run(attack(target, node, quote, float(seconds)))))
