"""The ADS gRPC server Envoy connects to (delta protocol), and the snapshot cache it serves.

`publish(generation, snapshots)` makes a generation current for every data plane it serves
(its *tenants*); every connected stream works towards its tenant's snapshot in
make-before-break order (see `hatchway.ads.session`). `wait_acked(generation, tenant)`
resolves once a proxy of that tenant runs that generation (or a newer one) or rejected part
of it.

Only our own proxies may talk to this server: their resources include the listeners' private
keys, and their ACKs and NACKs drive readiness, status and quarantine. `admit` decides, from
the node id of a stream's first request and the stream's TLS peer, which tenant a stream
belongs to; any other stream is refused with PERMISSION_DENIED before a single resource is
sent. Two ways in:
- a Unix socket in a directory only our user can enter (`serve`, the controller's embedded
  Envoy): one tenant, `SHARED`, admitted by the run's random node id;
- TCP with mutual TLS (the proxies a controller provisioned): a proxy's client certificate
  names its Gateway, which is its tenant, and it receives that Gateway's resources only.
Sessions are kept per node id, so an ACK or NACK is always attributed to the proxy that sent it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import grpc
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

from hatchway.ads.session import DeltaSession
from hatchway.ads.snapshot import EMPTY, XdsSnapshot
from hatchway.ads.tenants import SHARED, Tenant
from hatchway.ads.verdict import AckState, Outcome, XdsEvent, clip

log = logging.getLogger("hatchway.xds")

# Large configs (10k routes) are ~1 MB per RouteConfiguration; leave ample headroom.
_MAX_MESSAGE = 256 << 20
# A NACK's message can be a whole resource; the log gets its start.
_LOGGED_MESSAGE_LIMIT = 4000
# sockaddr_un.sun_path is 108 bytes on Linux, the terminating NUL included.
MAX_SOCKET_PATH = 107

# (node id of the first request, the stream's TLS peer properties) -> its tenant, or None
Admit = Callable[[str, Mapping[str, list[bytes]]], Tenant | None]
EventHook = Callable[[XdsEvent], None]
PushHook = Callable[[discovery_pb2.DeltaDiscoveryResponse], None]


def single_node(node_id: str) -> Admit:
    """Admit exactly one node (the run's own Envoy) as the shared tenant."""

    def admit(node: str, _: Mapping[str, list[bytes]]) -> Tenant | None:
        return SHARED if node == node_id else None

    return admit


def _empty(generation: int) -> XdsSnapshot:
    return XdsSnapshot(generation, EMPTY.entries)


@dataclass(eq=False)
class _Stream:
    """One accepted ADS stream: the proxy's session and what wakes its sender."""

    tenant: Tenant
    session: DeltaSession
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    superseded: bool = False  # a newer stream of the same node took over


class XdsServer:
    def __init__(
        self,
        admit: Admit,
        *,
        on_event: EventHook | None = None,
        on_push: PushHook | None = None,
        first_request_timeout_s: float = 10.0,
    ) -> None:
        self._admit = admit
        # A client must name its node at once; one that says nothing holds no stream long.
        self.first_request_timeout_s = first_request_timeout_s
        self.socket_path: Path | None = None
        self.port: int | None = None
        self._on_event = on_event
        self._on_push = on_push
        self._servers: list[grpc.aio.Server] = []
        self.generation = 0
        # The newest snapshot per tenant, nothing older: each stream's session holds what it
        # sends (its target) and what Envoy acknowledged (versions), never a past generation
        # (at 3,000 routes each RouteConfiguration is megabytes).
        self._snapshots: dict[Tenant, XdsSnapshot] = {}
        self._streams: dict[str, _Stream] = {}  # node id -> its live stream
        self._change = asyncio.Event()
        self.events: deque[XdsEvent] = deque(maxlen=256)
        self.streams_opened = 0
        self.streams_refused = 0

    # --- lifecycle --------------------------------------------------------------------------

    def _new_server(self) -> grpc.aio.Server:
        server = grpc.aio.server(
            options=[
                ("grpc.max_send_message_length", _MAX_MESSAGE),
                ("grpc.max_receive_message_length", _MAX_MESSAGE),
            ]
        )
        ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(_Servicer(self), server)
        return server

    async def start(self, socket_path: Path) -> None:
        """Listen on `socket_path`, a new socket in a directory only we can enter."""
        check_socket_path(socket_path)
        socket_path.unlink(missing_ok=True)  # left by a run that was killed
        server = self._new_server()
        # "Insecure" means no TLS: the private directory is what keeps others out.
        server.add_insecure_port(f"unix:{socket_path}")
        await server.start()
        self._servers.append(server)
        self.socket_path = socket_path
        log.info("xDS server listening on %s", socket_path)

    async def start_tls(self, host: str, port: int, cert: bytes, key: bytes, ca: bytes) -> int:
        """Listen on TCP `host:port` with mutual TLS: our certificate and key (PEM), and the CA
        every client certificate must be signed by; returns the bound port."""
        credentials = grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=ca, require_client_auth=True
        )
        server = self._new_server()
        bound = int(server.add_secure_port(f"{host}:{port}", credentials))
        await server.start()
        self._servers.append(server)
        self.port = bound
        log.info("xDS server listening on %s:%d (mutual TLS)", host, bound)
        return bound

    async def stop(self, grace: float = 0.5) -> None:
        for server in self._servers:
            await server.stop(grace)
        self._servers = []
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)

    # --- snapshots --------------------------------------------------------------------------

    def snapshot(self, tenant: Tenant = SHARED) -> XdsSnapshot:
        """The tenant's newest snapshot (empty, at the current generation, if it has none)."""
        snap = self._snapshots.get(tenant)
        return snap if snap is not None else _empty(self.generation)

    def tenants(self) -> list[Tenant]:
        return list(self._snapshots)

    def publish(self, generation: int, snapshots: Mapping[Tenant, XdsSnapshot]) -> None:
        """Make `generation` current: each tenant gets its snapshot; a tenant published
        before and not named now gets an empty one (its proxies drop everything)."""
        if generation <= self.generation:
            raise ValueError(f"generation {generation} is not newer than {self.generation}")
        self.generation = generation
        for tenant in [*snapshots, *(t for t in self._snapshots if t not in snapshots)]:
            self._snapshots[tenant] = snapshots.get(tenant) or _empty(generation)
        for stream in self._streams.values():
            stream.wake.set()
        self._notify()

    # --- acknowledgement --------------------------------------------------------------------

    def connected(self, tenant: Tenant = SHARED) -> int:
        """How many proxies of the tenant have a stream."""
        return sum(1 for s in self._streams.values() if s.tenant == tenant)

    def outcome(self, generation: int | None = None, tenant: Tenant = SHARED) -> Outcome:
        """Where the tenant's proxies stand with `generation` (default: the newest): ACKED
        once one of them runs it; NACKED when one rejected part of it; else PENDING."""
        gen = self.generation if generation is None else generation
        streams = [s for s in self._streams.values() if s.tenant == tenant]
        if not streams:
            reason = (
                "Envoy is not connected"
                if tenant == SHARED
                else "no proxy of this Gateway is connected"
            )
            return Outcome(AckState.PENDING, gen, reason=reason)
        pending: Outcome | None = None
        nacked: Outcome | None = None
        for stream in streams:
            result = _stream_outcome(stream.session, gen)
            if result.state is AckState.ACKED:
                return result
            if result.state is AckState.NACKED:
                nacked = nacked or result
            else:
                pending = pending or result
        assert nacked is not None or pending is not None
        return nacked or pending  # type: ignore[return-value]

    async def wait_acked(
        self, generation: int, tenant: Tenant = SHARED, timeout: float | None = None
    ) -> Outcome:
        """Wait until a proxy of the tenant ACKed `generation` (or newer) or rejected part."""
        async with asyncio.timeout(timeout):
            while True:
                result = self.outcome(generation, tenant)
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
        first, tenant = await self._first_request(requests, context)
        node = first.node.id
        stream = _Stream(tenant, DeltaSession(self.snapshot(tenant)))
        for event in stream.session.on_request(first):
            self._record(event)
        # After an Envoy restart its old stream may linger a moment: the new one counts.
        if (old := self._streams.get(node)) is not None:
            old.superseded = True
            old.wake.set()
        self._streams[node] = stream
        self.streams_opened += 1
        log.info("Envoy %s connected (delta ADS)", node[:200])
        reader = asyncio.create_task(self._read(requests, node, stream))
        try:
            while not reader.done() and not stream.superseded:
                stream.wake.clear()
                stream.session.set_target(self.snapshot(stream.tenant))
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
    ) -> tuple[discovery_pb2.DeltaDiscoveryRequest, Tenant]:
        """The stream's first request and its tenant, if it comes from a node we serve; else
        the stream is ended (PERMISSION_DENIED) before anything is sent on it."""
        first: discovery_pb2.DeltaDiscoveryRequest | None = None
        with contextlib.suppress(StopAsyncIteration, TimeoutError):
            first = await asyncio.wait_for(anext(requests), self.first_request_timeout_s)
        tenant = None
        if first is not None:
            tenant = self._admit(first.node.id, _peer(context))
        if first is None or tenant is None:
            self.streams_refused += 1
            # The id is the client's to choose: logged bounded and quoted.
            node = first.node.id[:80] if first is not None else None
            log.warning("refused an xDS stream from unknown node %r", node)
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "unknown node")
            raise AssertionError("abort() raises")  # for the type checker
        return first, tenant

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


def _stream_outcome(session: DeltaSession, gen: int) -> Outcome:
    if session.acked_generation >= gen:
        return Outcome(AckState.ACKED, gen)
    current = session.outcome()
    if current.state in (AckState.NACKED, AckState.ACKED) and current.generation >= gen:
        return current
    return Outcome(AckState.PENDING, gen, current.rejected, current.reason)


def _peer(context: grpc.aio.ServicerContext) -> Mapping[str, list[bytes]]:
    """The stream's TLS peer properties (`x509_pem_cert`…), empty without TLS."""
    try:
        return MappingProxyType(dict(context.auth_context()))
    except (AttributeError, RuntimeError):
        return MappingProxyType({})


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
