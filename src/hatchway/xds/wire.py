"""Protobuf wire framing, the one place that knows it.

A RouteConfiguration of thousands of routes is assembled from bytes kept per route and per
virtual host (`xds.routes`): serializing the whole message again for a one-route change would
cost what the change saves. This works because deterministic serialization writes fields in
field-number order, so splicing the serialized pieces of a message in that order gives exactly
the bytes serializing the message would give (the golden tests compare both).
"""

from __future__ import annotations

from typing import Any

_LENGTH_DELIMITED = 2  # wire type of messages, strings and bytes


def varint(n: int) -> bytes:
    """Base-128 varint encoding of a non-negative integer."""
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field_number(message: Any, name: str) -> int:
    """The number of field `name` of a message class."""
    number: int = message.DESCRIPTOR.fields_by_name[name].number
    return number


def tag(number: int) -> bytes:
    """The key preceding a length-delimited field `number`."""
    return varint(number << 3 | _LENGTH_DELIMITED)


def framed(number: int, data: bytes) -> tuple[bytes, bytes, bytes]:
    """One serialized message as field `number` of its parent: key, length, bytes."""
    return tag(number), varint(len(data)), data


def field(number: int, *payload: bytes) -> tuple[bytes, ...]:
    """A length-delimited field whose value is the concatenation of `payload`, in pieces:
    joined once, with the others (a virtual host's routes can be megabytes)."""
    return (tag(number), varint(sum(map(len, payload))), *payload)
