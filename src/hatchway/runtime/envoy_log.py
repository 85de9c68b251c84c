"""Envoy's output, relayed into our log: whatever its line length, and never stalling Envoy.

Envoy writes its log (one JSON object per line, see `xds.bootstrap.LOG_JSON_FORMAT`) to a pipe
we read. If nobody drains that pipe, Envoy blocks in `write` — workers and the admin API
with it. So the relay reads in chunks and splits lines itself (a line reader's length limit
would end it on the first long line, e.g. a NACK quoting a whole RouteConfiguration), keeps
at most `LINE_KEEP` bytes of a line and says how many more there were, and survives any one
line it cannot handle.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re

log = logging.getLogger("hatchway.envoy")

# Bytes of one line that reach our log; the rest is counted, not kept.
LINE_KEEP = 8192
_CHUNK = 1 << 16
_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
# Deprecation warnings about options we set on purpose (`xds.telemetry`: the stats access
# logger's `stat_prefix`, until the protos we build with know its successor): Envoy repeats
# them on every configuration update, so they are logged at debug level.
KNOWN_DEPRECATIONS = ("'envoy.extensions.access_loggers.stats.v3.Config.stat_prefix'",)
# The head of a JSON line cut short: its fields come in LOG_JSON_FORMAT order.
_HEAD = re.compile(r'^\{.*?"level":"(?P<level>\w+)","logger":"(?P<logger>[^"]*)".*?"message":"')


class LineCutter:
    """Splits a byte stream into lines, keeping at most `keep` bytes of each."""

    def __init__(self, keep: int = LINE_KEEP) -> None:
        self.keep = keep
        self._head = bytearray()
        self._cut = 0

    def feed(self, chunk: bytes) -> list[tuple[bytes, int]]:
        """The lines `chunk` completes, as (kept head, number of bytes cut)."""
        lines: list[tuple[bytes, int]] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            room = max(self.keep - len(self._head), 0)
            self._head += piece[:room]
            self._cut += max(len(piece) - room, 0)
            if end < 0:
                return lines
            lines.append(self._take())
            start = end + 1

    def flush(self) -> list[tuple[bytes, int]]:
        """The unterminated last line, if any (at end of output)."""
        return [self._take()] if self._head or self._cut else []

    def _take(self) -> tuple[bytes, int]:
        line = (bytes(self._head), self._cut)
        self._head.clear()
        self._cut = 0
        return line


def emit(line: bytes, cut: int) -> None:
    """Log one line of Envoy's output with Envoy's level and logger when it says them."""
    text = line.decode(errors="replace").rstrip()
    if not text and not cut:
        return
    if cut:
        note = f" …({cut} more bytes not shown)"
        if head := _HEAD.match(text):
            level = _LEVELS.get(head["level"], logging.INFO)
            log.log(level, "[%s] %s%s", head["logger"], text[head.end() :], note)
        else:
            log.info("%s%s", text, note)
        return
    try:
        entry = json.loads(text)
    except ValueError:
        entry = None
    if not isinstance(entry, dict):
        log.info("%s", text)
        return
    level = _LEVELS.get(str(entry.get("level")), logging.INFO)
    message = str(entry.get("message", ""))
    if level == logging.WARNING and any(d in message for d in KNOWN_DEPRECATIONS):
        level = logging.DEBUG
    log.log(
        level,
        "[%s] %s",
        entry.get("logger", "envoy"),
        entry.get("message", ""),
        extra={"envoy": entry},
    )


async def relay(fd: int) -> None:
    """Read Envoy's output from the pipe `fd` (closed at the end) until Envoy closes it."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_CHUNK)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    cutter = LineCutter()
    try:
        while chunk := await reader.read(_CHUNK):
            for line, cut in cutter.feed(chunk):
                _emit_safely(line, cut)
        for line, cut in cutter.flush():
            _emit_safely(line, cut)
    finally:
        transport.close()


def _emit_safely(line: bytes, cut: int) -> None:
    # One line we cannot log must not end the relay: Envoy would block on the full pipe.
    try:
        emit(line, cut)
    except Exception:
        log.debug("could not relay a line of Envoy's output", exc_info=True)
