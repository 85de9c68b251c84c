"""The ADS gRPC server Envoy connects to (delta protocol), and the snapshot cache it serves.

`publish(snapshot)` makes a generation current; every connected stream works towards it in
make-before-break order (see `hatchway.runtime.delta`). `wait_acked(generation)` resolves once
Envoy runs that generation (or a newer one) or has rejected part of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable

import grpc
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

from hatchway.runtime.delta import AckState, DeltaSession, Outcome, XdsEvent
from hatchway.runtime.xds_snapshot import EMPTY, XdsSnapshot

log = logging.getLogger("hatchway.xds")

# Large configs (10k routes) are ~1 MB per RouteConfiguration; leave ample headroom.
_MAX_MESSAGE = 256 << 20
_KEEP_SNAPSHOTS = 8

EventHook = Callable[[XdsEvent], None]
PushHook = Callable[[discovery_pb2.DeltaDiscoveryResponse], None]


class XdsServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_event: EventHook | None = None,
        on_push: PushHook | None = None,
    ) -> None:
        self._address = f"{host}:{port}"
        self.host = host
        self.port = port
        self._on_event = on_event
        self._on_push = on_push
        self._server: grpc.aio.Server | None = None
        self._snapshots: OrderedDict[int, XdsSnapshot] = OrderedDict({0: EMPTY})
        self._sessions: list[tuple[DeltaSession, asyncio.Event]] = []
        self._change = asyncio.Event()
        self.events: deque[XdsEvent] = deque(maxlen=256)
        self.streams_opened = 0

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> int:
        """Start serving; returns the bound port (useful when asked for port 0)."""
        server = grpc.aio.server(
            options=[
                ("grpc.max_send_message_length", _MAX_MESSAGE),
                ("grpc.max_receive_message_length", _MAX_MESSAGE),
            ]
        )
        ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(_Servicer(self), server)
        self.port = server.add_insecure_port(self._address)
        await server.start()
        self._server = server
        log.info("xDS server listening on %s:%d", self.host, self.port)
        return self.port

    async def stop(self, grace: float = 0.5) -> None:
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None

    # --- snapshots --------------------------------------------------------------------------

    @property
    def snapshot(self) -> XdsSnapshot:
        return next(reversed(self._snapshots.values()))

    def snapshot_for(self, generation: int) -> XdsSnapshot | None:
        return self._snapshots.get(generation)

    def publish(self, snapshot: XdsSnapshot) -> None:
        if snapshot.generation <= self.snapshot.generation:
            raise ValueError(
                f"generation {snapshot.generation} is not newer than {self.snapshot.generation}"
            )
        self._snapshots[snapshot.generation] = snapshot
        while len(self._snapshots) > _KEEP_SNAPSHOTS:
            self._snapshots.popitem(last=False)
        for _, wake in self._sessions:
            wake.set()
        self._notify()

    # --- acknowledgement --------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return bool(self._sessions)

    def outcome(self, generation: int | None = None) -> Outcome:
        """Where the newest Envoy stream stands with `generation` (default: the newest)."""
        gen = self.snapshot.generation if generation is None else generation
        if not self._sessions:
            return Outcome(AckState.PENDING, gen, reason="Envoy is not connected")
        session = self._sessions[-1][0]
        if session.acked_generation >= gen:
            return Outcome(AckState.ACKED, gen)
        current = session.outcome()
        if current.state is AckState.NACKED and current.generation >= gen:
            return current
        if current.state is AckState.ACKED and current.generation >= gen:
            return current
        return Outcome(AckState.PENDING, gen, current.rejected, current.reason)

    async def wait_acked(self, generation: int, timeout: float | None = None) -> Outcome:
        """Wait until Envoy ACKed `generation` (or newer) or rejected part of it."""
        async with asyncio.timeout(timeout):
            while True:
                result = self.outcome(generation)
                if result.state is not AckState.PENDING:
                    return result
                await self._change.wait()

    def _notify(self) -> None:
        change, self._change = self._change, asyncio.Event()
        change.set()

    # --- streams ----------------------------------------------------------------------------

    async def _run_stream(
        self, requests: AsyncIterator[discovery_pb2.DeltaDiscoveryRequest]
    ) -> AsyncIterator[discovery_pb2.DeltaDiscoveryResponse]:
        session = DeltaSession(self.snapshot)
        wake = asyncio.Event()
        entry = (session, wake)
        # The newest stream is the one that counts: after an Envoy restart the old stream
        # may linger until its connection times out.
        self._sessions.append(entry)
        self.streams_opened += 1
        reader = asyncio.create_task(self._read(requests, session, wake))
        try:
            while not reader.done():
                wake.clear()
                session.set_target(self.snapshot)
                for resp in session.responses():
                    if self._on_push is not None:
                        self._on_push(resp)
                    log.debug(
                        "push %s gen=%s nonce=%s +%d -%d",
                        resp.type_url.rsplit(".", 1)[-1],
                        resp.system_version_info,
                        resp.nonce,
                        len(resp.resources),
                        len(resp.removed_resources),
                    )
                    yield resp
                self._notify()
                await wake.wait()
            if (exc := reader.exception()) is not None:
                log.info("xDS stream from %s ended: %s", session.node_id, exc)
        finally:
            reader.cancel()
            self._sessions.remove(entry)
            self._notify()

    async def _read(
        self,
        requests: AsyncIterator[discovery_pb2.DeltaDiscoveryRequest],
        session: DeltaSession,
        wake: asyncio.Event,
    ) -> None:
        try:
            async for req in requests:
                first = session.node_id is None
                for event in session.on_request(req):
                    self._record(event)
                if first and session.node_id is not None:
                    log.info("Envoy %s connected (delta ADS)", session.node_id)
                wake.set()
        finally:
            wake.set()

    def _record(self, event: XdsEvent) -> None:
        self.events.append(event)
        if event.ack:
            log.debug("ACK %s gen=%d %s", event.kind, event.generation, ", ".join(event.names))
        else:
            log.warning(
                "NACK %s gen=%d %s: %s",
                event.kind,
                event.generation,
                ", ".join(event.rejected),
                event.message,
            )
        if self._on_event is not None:
            self._on_event(event)


class _Servicer(ads_pb2_grpc.AggregatedDiscoveryServiceServicer):  # type: ignore[misc]
    def __init__(self, server: XdsServer) -> None:
        self._server = server

    async def DeltaAggregatedResources(
        self,
        request_iterator: AsyncIterator[discovery_pb2.DeltaDiscoveryRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[discovery_pb2.DeltaDiscoveryResponse]:
        async for resp in self._server._run_stream(request_iterator):
            yield resp
