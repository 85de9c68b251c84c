"""The ADS gRPC server Envoy connects to (delta protocol), and the snapshot cache it serves.

`publish(snapshot)` makes a generation current; every connected stream works towards it in
make-before-break order (see `hatchway.runtime.delta`). `wait_acked(generation)` resolves once
Envoy runs that generation (or a newer one) or has rejected part of it.

Only our own Envoy may talk to this server: its resources include the listeners' private keys,
and its ACKs and NACKs drive readiness, status and quarantine. So it listens on a Unix socket
in a directory only our user can enter (never on TCP: gRPC's insecure port has no
authentication), and it accepts a stream only when the node id of its first request is one of
the proxies it serves (a random id per run, known only to the bootstrap it wrote); any other
stream is refused with PERMISSION_DENIED before a single resource is sent. Sessions are kept
per node id, so an ACK or NACK is always attributed to the proxy that sent it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

from hatchway.runtime.delta import AckState, DeltaSession, Outcome, XdsEvent
from hatchway.runtime.programmed import clip
from hatchway.runtime.xds_snapshot import EMPTY, XdsSnapshot

log = logging.getLogger("hatchway.xds")

# Large configs (10k routes) are ~1 MB per RouteConfiguration; leave ample headroom.
_MAX_MESSAGE = 256 << 20
_KEEP_SNAPSHOTS = 8
# A NACK's message can be a whole resource; the log gets its start.
_LOGGED_MESSAGE_LIMIT = 4000
# sockaddr_un.sun_path is 108 bytes on Linux, the terminating NUL included.
MAX_SOCKET_PATH = 107

EventHook = Callable[[XdsEvent], None]
PushHook = Callable[[discovery_pb2.DeltaDiscoveryResponse], None]


@dataclass(eq=False)
class _Stream:
    """One accepted ADS stream: the proxy's session and what wakes its sender."""

    session: DeltaSession
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    superseded: bool = False  # a newer stream of the same node took over


class XdsServer:
    def __init__(
        self,
        node_id: str,
        *,
        on_event: EventHook | None = None,
        on_push: PushHook | None = None,
        first_request_timeout_s: float = 10.0,
    ) -> None:
        """`node_id`: the proxy this server configures; streams of other nodes are refused."""
        self.node_id = node_id
        # A client must name its node at once; one that says nothing holds no stream long.
        self.first_request_timeout_s = first_request_timeout_s
        self.socket_path: Path | None = None
        self._on_event = on_event
        self._on_push = on_push
        self._server: grpc.aio.Server | None = None
        self._snapshots: OrderedDict[int, XdsSnapshot] = OrderedDict({0: EMPTY})
        # node id -> its live stream. One proxy today; per-node resources (several proxies
        # of one control plane) would key their snapshots the same way.
        self._streams: dict[str, _Stream] = {}
        self._change = asyncio.Event()
        self.events: deque[XdsEvent] = deque(maxlen=256)
        self.streams_opened = 0
        self.streams_refused = 0

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self, socket_path: Path) -> None:
        """Listen on `socket_path`, a new socket in a directory only we can enter."""
        check_socket_path(socket_path)
        socket_path.unlink(missing_ok=True)  # left by a run that was killed
        server = grpc.aio.server(
            options=[
                ("grpc.max_send_message_length", _MAX_MESSAGE),
                ("grpc.max_receive_message_length", _MAX_MESSAGE),
            ]
        )
        ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(_Servicer(self), server)
        # "Insecure" means no TLS: the private directory is what keeps others out.
        server.add_insecure_port(f"unix:{socket_path}")
        await server.start()
        self._server = server
        self.socket_path = socket_path
        log.info("xDS server listening on %s (node %s)", socket_path, self.node_id)

    async def stop(self, grace: float = 0.5) -> None:
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)

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
        for stream in self._streams.values():
            stream.wake.set()
        self._notify()

    # --- acknowledgement --------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.node_id in self._streams

    def outcome(self, generation: int | None = None) -> Outcome:
        """Where our Envoy stands with `generation` (default: the newest)."""
        gen = self.snapshot.generation if generation is None else generation
        stream = self._streams.get(self.node_id)
        if stream is None:
            return Outcome(AckState.PENDING, gen, reason="Envoy is not connected")
        session = stream.session
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
        self,
        requests: AsyncIterator[discovery_pb2.DeltaDiscoveryRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[discovery_pb2.DeltaDiscoveryResponse]:
        first = await self._first_request(requests, context)
        node = first.node.id
        stream = _Stream(DeltaSession(self.snapshot))
        for event in stream.session.on_request(first):
            self._record(event)
        # After an Envoy restart its old stream may linger a moment: the new one counts.
        if (old := self._streams.get(node)) is not None:
            old.superseded = True
            old.wake.set()
        self._streams[node] = stream
        self.streams_opened += 1
        log.info("Envoy %s connected (delta ADS)", node)
        reader = asyncio.create_task(self._read(requests, node, stream))
        try:
            while not reader.done() and not stream.superseded:
                stream.wake.clear()
                stream.session.set_target(self.snapshot)
                for resp in stream.session.responses():
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
                await stream.wake.wait()
            if reader.done() and (exc := reader.exception()) is not None:
                log.info("xDS stream from %s ended: %s", node, exc)
        finally:
            reader.cancel()
            if self._streams.get(node) is stream:
                del self._streams[node]
            self._notify()

    async def _first_request(
        self,
        requests: AsyncIterator[discovery_pb2.DeltaDiscoveryRequest],
        context: grpc.aio.ServicerContext,
    ) -> discovery_pb2.DeltaDiscoveryRequest:
        """The stream's first request, if it comes from a node we serve; else the stream is
        ended (PERMISSION_DENIED) before anything is sent on it."""
        first: discovery_pb2.DeltaDiscoveryRequest | None = None
        with contextlib.suppress(StopAsyncIteration, TimeoutError):
            first = await asyncio.wait_for(anext(requests), self.first_request_timeout_s)
        if first is None or first.node.id != self.node_id:
            self.streams_refused += 1
            # The id is the client's to choose: logged bounded and quoted.
            node = first.node.id[:80] if first is not None else None
            log.warning("refused an xDS stream from unknown node %r", node)
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "unknown node")
            raise AssertionError("abort() raises")  # for the type checker
        return first

    async def _read(
        self,
        requests: AsyncIterator[discovery_pb2.DeltaDiscoveryRequest],
        node: str,
        stream: _Stream,
    ) -> None:
        try:
            async for req in requests:
                events = stream.session.on_request(req)
                # A superseded stream's answers are about a proxy that is gone.
                if self._streams.get(node) is stream:
                    for event in events:
                        self._record(event)
                stream.wake.set()
        finally:
            stream.wake.set()

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
                clip(event.message, _LOGGED_MESSAGE_LIMIT),
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
        async for resp in self._server._run_stream(request_iterator, context):
            yield resp


def check_socket_path(path: Path) -> None:
    """Refuse a socket path that is too long, or whose directory other users can enter."""
    size = len(os.fsencode(path))
    if size > MAX_SOCKET_PATH:
        raise OSError(
            f"xDS socket path {path} is {size} bytes, over the {MAX_SOCKET_PATH} a Unix socket "
            "allows: choose a shorter state directory"
        )
    st = path.parent.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise OSError(
            f"the xDS socket's directory {path.parent} must be a directory of this user that "
            f"no one else can enter (it is mode {stat.S_IMODE(st.st_mode):o}, owner uid "
            f"{st.st_uid}): chmod 700 it or choose another state directory"
        )
