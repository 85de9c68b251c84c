"""Printing documents as YAML or JSON, the same way everywhere."""

from __future__ import annotations

import json
import sys
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """Block style, no aliases: output meant for people and for `kubectl apply`."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def emit(data: Any, fmt: str) -> None:
    if fmt == "json":
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(dump_yaml(data))
