"""`hatchway explain`: which listener, route, rule and backends a request reaches, and why."""

from __future__ import annotations

import argparse
import sys

from hatchway.cli import input_files, output
from hatchway.explain import Request, explain
from hatchway.explain.show import to_json, to_text
from hatchway.translate import translate


def run(args: argparse.Namespace) -> int:
    loaded = input_files.load(args.paths)
    result = translate(loaded.snapshot)
    headers = []
    for raw in args.headers:
        name, sep, value = raw.partition(":")
        if not sep:
            print(f"hatchway explain: header {raw!r} is not 'Name: value'", file=sys.stderr)
            return 2
        headers.append((name, value))
    request = Request.from_url(args.url, args.method, tuple(headers), args.grpc)
    trace = explain(result.ir, result.report, request)
    if args.output == "json":
        output.emit(to_json(trace), "json")
    else:
        output.write(to_text(trace, {c.name: c for c in result.ir.clusters}))
    return 0
