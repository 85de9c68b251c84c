"""Printing documents as YAML or JSON, the same way everywhere.

A reader that stops early (`hatchway translate … | head`) closes the pipe: the rest of the
output is dropped quietly and the command still computes its exit status (`--check`).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from hatchway.render import dump_yaml


def emit(data: Any, fmt: str) -> None:
    if fmt == "json":
        write(json.dumps(data, indent=2) + "\n")
    else:
        write(dump_yaml(data))


def write(text: str) -> None:
    """Write to stdout; a closed pipe silences stdout from then on."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()


def silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
