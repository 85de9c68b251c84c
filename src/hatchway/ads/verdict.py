"""What a data plane said about a generation: ACKed, rejected (which resources, why), or not
yet answered; and one ACK/NACK as an event for the log, metrics and `/status`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hatchway.xds import SHORT_NAMES

# Envoy's rejection message can hold a whole resource (a constraint failure prints the
# RouteConfiguration: megabytes at 10,000 routes). Status conditions, `/readyz` and the log
# get its start: what went wrong comes first in Envoy's messages.
ENVOY_MESSAGE_LIMIT = 300


def clip(text: str, limit: int = ENVOY_MESSAGE_LIMIT) -> str:
    """`text` cut to `limit` characters, saying how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(text) - limit} more)"


class AckState(StrEnum):
    ACKED = "Acked"
    NACKED = "Nacked"
    PENDING = "Pending"


@dataclass(frozen=True)
class Rejection:
    type_url: str
    name: str
    version: str
    message: str


@dataclass(frozen=True)
class Outcome:
    """Where Envoy stands with respect to one target generation."""

    state: AckState
    generation: int
    rejected: tuple[Rejection, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class XdsEvent:
    """One ACK or NACK, for the log, metrics and `/status`."""

    ack: bool
    type_url: str
    generation: int
    nonce: str
    names: tuple[str, ...]  # the resources it answers (updated and removed)
    rejected: tuple[str, ...] = ()
    message: str = ""

    @property
    def kind(self) -> str:
        return SHORT_NAMES.get(self.type_url, self.type_url)


def describe(rej: Rejection) -> str:
    """One rejection in words, its message clipped."""
    kind = SHORT_NAMES.get(rej.type_url, rej.type_url).rstrip("s")
    return f"Envoy rejected {kind} {rej.name!r}: {clip(rej.message)}"
