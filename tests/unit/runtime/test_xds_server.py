"""The xDS server talks only to its own proxy: real gRPC over a real Unix socket.

Streams whose first request names another node are refused before anything is sent, so a
stranger never sees a resource (secrets included) nor gets a nonce to NACK; and the outcome
that drives readiness, status and quarantine is the proxy's own stream's."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from envoy.config.cluster.v3 import cluster_pb2
from envoy.extensions.transport_sockets.tls.v3 import secret_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

from hatchway.ads.snapshot import from_messages
from hatchway.ads.tenants import SHARED
from hatchway.ads.verdict import AckState
from hatchway.runtime.xds_server import (
    MAX_SOCKET_PATH,
    XdsServer,
    check_socket_path,
    single_node,
)
from hatchway.xds import CLUSTER, SECRET

Req = discovery_pb2.DeltaDiscoveryRequest
NODE = "hatchway-test-node"


def _snapshot(gen: int) -> Any:
    secret = secret_pb2.Secret(name="cert")
    secret.tls_certificate.private_key.inline_string = "-----BEGIN PRIVATE KEY-----"
    cluster = cluster_pb2.Cluster(name=f"c{gen}")
    return from_messages(gen, {CLUSTER: {cluster.name: cluster}, SECRET: {"cert": secret}})


class Client:
    """A delta ADS client as Envoy drives it: requests in, responses collected."""

    def __init__(self, socket: Path, node: str) -> None:
        self.channel = grpc.aio.insecure_channel(f"unix:{socket}")
        self.node = node
        self.out: asyncio.Queue[Req | None] = asyncio.Queue()
        self.responses: list[discovery_pb2.DeltaDiscoveryResponse] = []
        self.error: grpc.StatusCode | None = None
        self.ended = asyncio.Event()

    def send(self, req: Req) -> None:
        self.out.put_nowait(req)

    async def _requests(self) -> AsyncIterator[Req]:
        while (req := await self.out.get()) is not None:
            yield req

    def open(self, *, named: bool = True) -> asyncio.Task[None]:
        if named:
            first = Req(type_url=CLUSTER)
            first.node.id = self.node
            self.send(first)
        return asyncio.create_task(self._run())

    async def _run(self) -> None:
        stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(self.channel)
        try:
            async for resp in stub.DeltaAggregatedResources(self._requests()):
                self.responses.append(resp)
                if len(self.responses) == 1:
                    # Only once accepted: a write racing a refusal would hide its status
                    # (gRPC Python aio reports INTERNAL then, grpc/grpc#36066).
                    self.send(Req(type_url=SECRET, resource_names_subscribe=["cert"]))
        except grpc.aio.AioRpcError as exc:
            self.error = exc.code()
        finally:
            self.ended.set()

    def last(self, type_url: str) -> discovery_pb2.DeltaDiscoveryResponse:
        return [r for r in self.responses if r.type_url == type_url][-1]

    async def close(self) -> None:
        self.out.put_nowait(None)
        await self.channel.close()


async def _until(check: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


@pytest.fixture
def sock(tmp_path: Path) -> Path:
    d = tmp_path / "s"
    d.mkdir(mode=0o700)
    return d / "xds.sock"


def test_a_stranger_gets_nothing_and_its_nack_counts_for_nothing(sock: Path) -> None:
    async def scenario() -> None:
        server = XdsServer(single_node(NODE))
        await server.start(sock)
        server.publish(1, {SHARED: _snapshot(1)})
        stranger = Client(sock, "someone-else")
        stranger.open()
        await asyncio.wait_for(stranger.ended.wait(), 5)
        assert stranger.error is grpc.StatusCode.PERMISSION_DENIED
        assert stranger.responses == []  # no secret, no nonce to NACK
        assert server.streams_refused == 1 and not server.connected()

        envoy = Client(sock, NODE)
        envoy.open()
        await _until(lambda: {r.type_url for r in envoy.responses} == {CLUSTER, SECRET})
        for r in envoy.responses:
            envoy.send(Req(type_url=r.type_url, response_nonce=r.nonce))
        await asyncio.wait_for(server.wait_acked(1), 5)
        # A stranger's NACK with a nonce it guessed, as its very first message: refused.
        forged = Req(type_url=CLUSTER, response_nonce=envoy.last(CLUSTER).nonce)
        forged.node.id = "someone-else"
        forged.error_detail.message = "rogue: c1 is broken"
        rogue = Client(sock, "someone-else")
        rogue.send(forged)
        rogue.open(named=False)
        await asyncio.wait_for(rogue.ended.wait(), 5)
        assert rogue.error is grpc.StatusCode.PERMISSION_DENIED
        assert server.outcome(1).state is AckState.ACKED
        assert all(e.ack for e in server.events)
        for c in (stranger, envoy, rogue):
            await c.close()
        await server.stop()
        assert not sock.exists()

    run(scenario())


def test_the_proxys_newest_stream_counts_and_the_old_one_is_ended(sock: Path) -> None:
    """After an Envoy restart the old stream may linger: it is closed, and what it still
    says (here a NACK) is not attributed to the proxy."""

    async def scenario() -> None:
        server = XdsServer(single_node(NODE))
        await server.start(sock)
        server.publish(1, {SHARED: _snapshot(1)})
        old = Client(sock, NODE)
        old.open()
        await _until(lambda: len(old.responses) == 2)
        new = Client(sock, NODE)
        new.open()
        await asyncio.wait_for(old.ended.wait(), 5)
        assert old.error is None  # ended by the server, cleanly
        await _until(lambda: len(new.responses) == 2)
        nack = Req(type_url=CLUSTER, response_nonce=old.last(CLUSTER).nonce)
        nack.error_detail.message = "c1 is broken"
        old.send(nack)
        for r in new.responses:
            new.send(Req(type_url=r.type_url, response_nonce=r.nonce))
        assert (await asyncio.wait_for(server.wait_acked(1), 5)).state is AckState.ACKED
        assert server.streams_opened == 2 and server.connected() == 1
        assert [e.ack for e in server.events] == [True, True]
        for c in (old, new):
            await c.close()
        await server.stop()

    run(scenario())


def test_a_client_that_names_no_node_is_refused(sock: Path) -> None:
    async def scenario() -> None:
        server = XdsServer(single_node(NODE), first_request_timeout_s=0.2)
        await server.start(sock)
        silent = Client(sock, NODE)
        silent.open(named=False)  # connects, sends nothing
        await asyncio.wait_for(silent.ended.wait(), 5)
        assert silent.error is grpc.StatusCode.PERMISSION_DENIED
        assert server.streams_refused == 1
        await silent.close()
        await server.stop()

    run(scenario())


def test_the_socket_directory_must_be_private(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    with pytest.raises(OSError, match="mode 755"):
        check_socket_path(shared / "xds.sock")
    with pytest.raises(OSError, match="mode 755"):
        run(XdsServer(single_node(NODE)).start(shared / "xds.sock"))
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    check_socket_path(private / "xds.sock")
    long = private / ("x" * (MAX_SOCKET_PATH - len(os.fsencode(private))))
    with pytest.raises(OSError, match="choose a shorter state directory"):
        check_socket_path(long)
