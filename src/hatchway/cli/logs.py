"""Hatchway's own log (stderr): text lines, or one JSON object per line (`--log-format json`).

JSON lines carry `time` (UTC, ISO 8601), `level`, `logger`, `message`, and whatever a log call
adds as `extra` (e.g. `envoy`: the fields of a relayed Envoy log line); a traceback comes as
`exc_info`. The formatting is python-json-logger's.
"""

from __future__ import annotations

import argparse
import logging

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")


def setup(level: str, fmt: str = "text") -> None:
    """Configure the root logger once, for a long-running command."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "{levelname}{name}{message}",
                style="{",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="time",
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=getattr(logging, level.upper()), handlers=[handler], force=True)


def add_argument(parser: argparse.ArgumentParser) -> None:
    """`--log-format text|json` on a command's parser."""
    parser.add_argument(
        "--log-format",
        default="text",
        choices=FORMATS,
        help="Hatchway's own log on stderr: text lines (default) or JSON objects",
    )
