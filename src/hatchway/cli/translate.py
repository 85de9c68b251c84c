"""`hatchway translate`: the Envoy xDS resources we would serve for the inputs.

Private keys show as a SHA-256 fingerprint; `--show-secrets` prints them, for offline
debugging only."""

from __future__ import annotations

import argparse

from hatchway import xds
from hatchway.cli import input_files, output
from hatchway.translate import translate


def run(args: argparse.Namespace) -> int:
    loaded = input_files.load(args.paths)
    resources = xds.build(translate(loaded.snapshot).ir)
    output.emit(xds.to_dicts(resources, show_secrets=args.show_secrets), args.output)
    return 0
