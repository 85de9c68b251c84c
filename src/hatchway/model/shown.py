"""Values quoted back in messages: bounded, one line, never expanded.

An error that repeats the offending value helps, until the value is 400 KB, a structure that
aliases itself a billion times ("billion laughs"), a CR/LF that forges a log line, or a
Secret. `shown` quotes a scalar (cut at `LIMIT` characters with "…", control characters
escaped as in JSON) and only names a container's type, so quoting costs O(LIMIT) whatever
the value is.
"""

from __future__ import annotations

import json
from datetime import date

LIMIT = 200  # characters of a quoted value
MESSAGE_LIMIT = 2000  # characters of a whole message (a last line of defence)


def shown(value: object, limit: int = LIMIT) -> str:
    """`value` as a message quotes it: `"text"`, `42`, `true`, `null`, `an object`…"""
    if isinstance(value, str):
        return quoted(value, limit)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        if value.bit_length() > 3 * limit:  # str() of a huge int is slow (or refused)
            return f"an integer of {value.bit_length()} bits"
        return cut(str(value), limit)
    if isinstance(value, float):
        return cut(repr(value), limit)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} items" if value else "an empty list"
    if isinstance(value, bytes | bytearray):
        return f"{len(value)} bytes"
    return f"a {type(value).__name__}"


def quoted(text: str, limit: int = LIMIT) -> str:
    """`text` in double quotes, JSON-escaped (no raw CR, LF or NUL), cut at `limit`."""
    out = json.dumps(text[:limit], ensure_ascii=False)
    return out + "…" if len(text) > limit else out


def cut(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` cut at `limit` characters, with "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def name_of(value: object) -> str | None:
    """An object's name or namespace as an error names it: itself when it is a string,
    else how it was written (`123`, `true`), None when absent."""
    if value is None:
        return None
    if isinstance(value, str):
        return cut(value, 2 * LIMIT)
    return shown(value)
