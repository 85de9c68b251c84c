"""Delta ADS, one Envoy stream: what Envoy has, what to send next, and what it accepted.

A plain state machine (no I/O) driven by the gRPC servicer: `on_request` for every
DeltaDiscoveryRequest, `responses()` whenever something may have changed.

Make-before-break ordering, per generation:
1. supporting types (clusters, endpoints, secrets): additions and updates first;
2. listeners and routes, once every new cluster and its endpoints are ACKed, so a route never
   points at a cluster Envoy does not have (that would be a 503, or a NACK);
3. removals of supporting types, only once the listeners and routes that stopped using them
   are ACKed (and none of them was rejected: then Envoy still runs the old ones).
An endpoint-only change touches only the ClusterLoadAssignment, so it goes out as EDS alone.

One response per type is in flight at a time, which makes every ACK/NACK attributable to the
exact resources and versions it answers.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from envoy.service.discovery.v3 import discovery_pb2

from hatchway.ads.snapshot import EMPTY, XdsSnapshot
from hatchway.ads.verdict import AckState, Outcome, Rejection, XdsEvent
from hatchway.xds import CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET, SHORT_NAMES

WILDCARD_TYPES = frozenset({CLUSTER, LISTENER})
SUPPORTING = (CLUSTER, ENDPOINT, SECRET)
CONSUMERS = (LISTENER, ROUTE)


@dataclass
class _InFlight:
    nonce: str
    generation: int
    updates: dict[str, str]
    removals: frozenset[str]


@dataclass
class _TypeState:
    requested: bool = False  # Envoy sent its first request for this type
    answered: bool = False  # we sent at least one response for this type
    wildcard: bool = False
    names: set[str] = field(default_factory=set)  # explicit subscriptions
    sent: dict[str, str] = field(default_factory=dict)  # what Envoy has or is being sent
    acked: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, Rejection] = field(default_factory=dict)
    absent: set[str] = field(default_factory=set)  # told "does not exist"
    in_flight: _InFlight | None = None


_nonces = itertools.count(1)


class DeltaSession:
    def __init__(self, target: XdsSnapshot = EMPTY) -> None:
        self.target = target
        self.node_id: str | None = None
        self.acked_generation = 0  # newest generation Envoy is fully in sync with
        self._types: dict[str, _TypeState] = {}

    # --- input ------------------------------------------------------------------------------

    def set_target(self, snapshot: XdsSnapshot) -> None:
        self.target = snapshot

    def on_request(self, req: discovery_pb2.DeltaDiscoveryRequest) -> list[XdsEvent]:
        if req.HasField("node") and req.node.id:
            self.node_id = req.node.id
        st = self._types.setdefault(req.type_url, _TypeState())
        subscribe = list(req.resource_names_subscribe)
        if not st.requested:
            st.requested = True
            # Envoy's first CDS/LDS request subscribes to everything (empty list or "*").
            st.wildcard = req.type_url in WILDCARD_TYPES and (not subscribe or "*" in subscribe)
            # A reconnecting Envoy says what it still has: do not resend identical content.
            for name, version in req.initial_resource_versions.items():
                st.sent[name] = version
                st.acked[name] = version
        for name in subscribe:
            if name == "*":
                st.wildcard = True
            else:
                st.names.add(name)
        for name in req.resource_names_unsubscribe:
            if name == "*":
                st.wildcard = False
                continue
            st.names.discard(name)
            st.absent.discard(name)
            st.sent.pop(name, None)
            st.acked.pop(name, None)
            st.rejected.pop(name, None)
        events: list[XdsEvent] = []
        flight = st.in_flight
        if req.response_nonce and flight is not None and req.response_nonce == flight.nonce:
            st.in_flight = None
            events.append(self._settle(req, st, flight))
        self._check_synced()
        return events

    def _settle(
        self, req: discovery_pb2.DeltaDiscoveryRequest, st: _TypeState, flight: _InFlight
    ) -> XdsEvent:
        names = (*flight.updates, *sorted(flight.removals))
        for name in flight.removals:
            st.acked.pop(name, None)
            st.rejected.pop(name, None)
        nacked = req.HasField("error_detail") and bool(
            req.error_detail.code or req.error_detail.message
        )
        if not nacked:
            for name, version in flight.updates.items():
                st.acked[name] = version
                st.rejected.pop(name, None)
            return XdsEvent(True, req.type_url, flight.generation, flight.nonce, names)
        message = req.error_detail.message
        # Envoy applies the valid resources of a response and names the failed ones in the
        # message; blame all of them only when the message names none.
        blamed = [n for n in flight.updates if _mentions(message, n)] or list(flight.updates)
        for name, version in flight.updates.items():
            if name in blamed:
                st.rejected[name] = Rejection(req.type_url, name, version, message)
            else:
                st.acked[name] = version
                st.rejected.pop(name, None)
        return XdsEvent(
            False, req.type_url, flight.generation, flight.nonce, names, tuple(blamed), message
        )

    # --- output -----------------------------------------------------------------------------

    def responses(self) -> list[discovery_pb2.DeltaDiscoveryResponse]:
        """Everything that may be sent now, in push order (may be empty)."""
        out: list[discovery_pb2.DeltaDiscoveryResponse] = []
        removals_ok = self._consumers_settled()
        for type_url in SUPPORTING:
            self._append(out, type_url, removals_ok)
        if self._supporting_ready():
            for type_url in CONSUMERS:
                self._append(out, type_url, True)
        return out

    def _append(
        self, out: list[discovery_pb2.DeltaDiscoveryResponse], type_url: str, removals: bool
    ) -> None:
        st = self._types.get(type_url)
        if st is None or not st.requested or st.in_flight is not None:
            return
        updates = self._pending_updates(type_url, st)
        removed = self._pending_removals(type_url, st) if removals else []
        # Names Envoy asks for that the target lacks: say so at once, or Envoy waits for
        # them until its initial fetch timeout (15 s) before it finishes warming.
        present = self.target.entries.get(type_url, {})
        missing = sorted(n for n in st.names - st.absent if n not in present and n not in st.sent)
        # The first answer to a wildcard request is due even when there is nothing to send:
        # Envoy's initialization waits for it.
        if not updates and not removed and not missing and (st.answered or not st.wildcard):
            return
        st.answered = True
        st.absent.update(missing)
        removed = sorted({*removed, *missing})
        nonce = str(next(_nonces))
        entries = self.target.entries.get(type_url, {})
        resp = discovery_pb2.DeltaDiscoveryResponse(
            type_url=type_url,
            system_version_info=str(self.target.generation),
            nonce=nonce,
            removed_resources=removed,
        )
        for name, version in updates.items():
            r = resp.resources.add()
            r.name = name
            r.version = version
            r.resource.CopyFrom(entries[name].resource)
        for name, version in updates.items():
            if type_url == CLUSTER and name in st.sent:
                self._resend_endpoints(name)
            st.sent[name] = version
            st.absent.discard(name)
        for name in removed:
            st.sent.pop(name, None)
        st.in_flight = _InFlight(nonce, self.target.generation, updates, frozenset(removed))
        out.append(resp)

    def _resend_endpoints(self, cluster: str) -> None:
        """An updated EDS cluster warms again and waits for its endpoints, even unchanged
        ones it already had; without them it waits out the initial fetch timeout (15 s).
        Forgetting that they were sent puts them in the next EDS response, right after
        this CDS one on the same stream."""
        eds = self._types.get(ENDPOINT)
        if eds is not None:
            eds.sent.pop(cluster, None)

    def _desired(self, type_url: str, st: _TypeState) -> dict[str, str]:
        versions = self.target.versions(type_url)
        if st.wildcard:
            return versions
        return {n: v for n, v in versions.items() if n in st.names}

    def _pending_updates(self, type_url: str, st: _TypeState) -> dict[str, str]:
        return {n: v for n, v in self._desired(type_url, st).items() if st.sent.get(n) != v}

    def _pending_removals(self, type_url: str, st: _TypeState) -> list[str]:
        # Only wildcard types (clusters, listeners) are removed by us. Envoy unsubscribes
        # from endpoints, routes and secrets itself once nothing uses them; removing them
        # earlier would pull them from under an old listener that is still serving.
        if not st.wildcard:
            return []
        present = self.target.entries.get(type_url, {})
        return sorted(n for n in st.sent if n not in present)

    def _supporting_ready(self) -> bool:
        """Every cluster of the target, and the endpoints of those Envoy has, are settled."""
        clusters = self._types.get(CLUSTER)
        if clusters is None or not clusters.requested:
            return False
        for type_url in SUPPORTING:
            st = self._types.get(type_url)
            if st is not None and (st.in_flight is not None or self._pending_updates(type_url, st)):
                return False
        if not self._settled(CLUSTER, self.target.versions(CLUSTER)):
            return False
        endpoints = self._types.get(ENDPOINT) or _TypeState()
        wanted = {n: v for n, v in self.target.versions(ENDPOINT).items() if n in clusters.acked}
        return all(
            endpoints.acked.get(n) == v
            or (n in endpoints.rejected and endpoints.rejected[n].version == v)
            for n, v in wanted.items()
        )

    def _settled(self, type_url: str, wanted: dict[str, str]) -> bool:
        st = self._types.get(type_url) or _TypeState()
        return all(
            st.acked.get(n) == v or (n in st.rejected and st.rejected[n].version == v)
            for n, v in wanted.items()
        )

    def _consumers_settled(self) -> bool:
        """Listeners and routes of the target are all live: old clusters may go now."""
        for type_url in CONSUMERS:
            st = self._types.get(type_url) or _TypeState()
            if st.in_flight is not None or st.rejected:
                return False
            if st.acked != self.target.versions(type_url):
                return False
        return True

    # --- result -----------------------------------------------------------------------------

    def _check_synced(self) -> None:
        if self._synced():
            self.acked_generation = max(self.acked_generation, self.target.generation)

    def _synced(self) -> bool:
        """Envoy runs every resource of the target, and no listener the target dropped.

        Leftover clusters (and routes or endpoints an old, draining listener still holds)
        do not count: they go away in the background and serve nothing new.
        """
        for type_url, entries in self.target.entries.items():
            st = self._types.get(type_url) or _TypeState()
            if any(st.acked.get(n) != e.version for n, e in entries.items()):
                return False
        listeners = self._types.get(LISTENER) or _TypeState()
        if listeners.in_flight is not None:
            return False
        return not set(listeners.acked) - set(self.target.entries.get(LISTENER, {}))

    def outcome(self) -> Outcome:
        gen = self.target.generation
        self._check_synced()
        if self.acked_generation >= gen:
            return Outcome(AckState.ACKED, gen)
        rejected: list[Rejection] = []
        for type_url, st in self._types.items():
            versions = self.target.versions(type_url)
            rejected.extend(r for n, r in st.rejected.items() if versions.get(n) == r.version)
        busy = [SHORT_NAMES.get(t, t) for t, st in self._types.items() if st.in_flight]
        if rejected and not busy:
            return Outcome(AckState.NACKED, gen, tuple(rejected), "Envoy rejected configuration")
        if busy:
            reason = f"waiting for Envoy to acknowledge {', '.join(busy)}"
        else:
            reason = "waiting for Envoy to request resources"
        return Outcome(AckState.PENDING, gen, tuple(rejected), reason)


def _mentions(message: str, name: str) -> bool:
    """`name` appears in `message` as a whole token (not inside a longer name)."""
    # Envoy writes "listener(s) NAME: reason"; a ':' followed by a word char would continue
    # the name instead (as in "default/blue:80").
    pattern = rf"(?<![\w./:-]){re.escape(name)}(?![\w./-]|:\w)"
    return re.search(pattern, message) is not None
