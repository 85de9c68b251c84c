"""Profile parse -> translate -> xDS build for one size with pyinstrument (dev extra).

`python -m benchmarks.profile_build 1000 [--own-hostnames]` prints the call tree; the
evidence quoted in README.md for the missed targets comes from here.
"""

from __future__ import annotations

import sys


def main(n: int, own_hostnames: bool) -> None:
    from pyinstrument import Profiler

    from benchmarks.scenarios import routes_scenario
    from hatchway import xds
    from hatchway.model.parse import Document, parse_documents
    from hatchway.translate import translate

    docs = routes_scenario(n, hostnames_per_route=own_hostnames)
    profiler = Profiler()
    profiler.start()
    parsed = parse_documents([Document("bench", i, d) for i, d in enumerate(docs)])
    result = translate(parsed.snapshot)
    xds.build(result.ir)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, "--own-hostnames" in sys.argv)
