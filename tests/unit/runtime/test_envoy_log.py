"""Envoy's output relay: lines of any length, split across reads, cut with a note."""

from __future__ import annotations

import asyncio
import json
import logging
import os

import pytest

from hatchway.runtime.envoy_log import LineCutter, emit, relay


def test_lines_split_across_chunks_and_long_lines_cut() -> None:
    cutter = LineCutter(keep=10)
    assert cutter.feed(b"one\ntw") == [(b"one", 0)]
    assert cutter.feed(b"o\n" + b"x" * 25) == [(b"two", 0)]
    assert cutter.feed(b"y" * 100_000 + b"\nlast") == [(b"x" * 10, 100_015)]
    assert cutter.flush() == [(b"last", 0)]
    assert cutter.flush() == []


def _line(level: str, message: str) -> bytes:
    entry = {"time": "t", "level": level, "logger": "config", "thread": "1", "source": "s"}
    return json.dumps({**entry, "message": message}, separators=(",", ":")).encode()


def test_a_cut_json_line_keeps_envoys_level_and_logger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="hatchway.envoy")
    cutter = LineCutter(keep=200)
    [(head, cut)] = cutter.feed(_line("warning", "gRPC config rejected: " + "v" * 70_000) + b"\n")
    emit(head, cut)
    [rec] = caplog.records
    assert rec.levelno == logging.WARNING
    assert rec.getMessage().startswith("[config] gRPC config rejected: vvv")
    assert rec.getMessage().endswith(f"…({cut} more bytes not shown)")
    assert len(rec.getMessage()) < 250


def test_whole_lines_and_junk(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="hatchway.envoy")
    emit(_line("error", "boom"), 0)
    emit(b"[plain text before the JSON format applies] \xff\xfe", 0)
    emit(b"", 0)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.ERROR, "[config] boom"),
        (logging.INFO, "[plain text before the JSON format applies] \ufffd\ufffd"),
    ]


def test_relay_drains_a_real_pipe_to_the_end(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="hatchway.envoy")
    read_fd, write_fd = os.pipe()

    async def scenario() -> None:
        task = asyncio.create_task(relay(read_fd))
        data = _line("info", "x" * 200_000) + b"\n" + _line("info", "after") + b"\n" + b"tail"
        await asyncio.to_thread(os.write, write_fd, data)  # blocks unless drained
        os.close(write_fd)
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].endswith("more bytes not shown)")
    assert messages[1:] == ["[config] after", "tail"]
