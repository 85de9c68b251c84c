"""Printing documents as YAML or JSON, the same way everywhere."""

from __future__ import annotations

import json
import sys
from typing import Any

from hatchway.render import dump_yaml


def emit(data: Any, fmt: str) -> None:
    if fmt == "json":
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(dump_yaml(data))
