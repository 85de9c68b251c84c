"""`make run`: start the demo backends, then `hatchway serve` on this folder (Ctrl-C stops all)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BACKENDS = {"blue": 9101, "green": 9102}


def main() -> int:
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "backend.py"), "--name", name, "--port", str(port)]
        )
        for name, port in BACKENDS.items()
    ]
    try:
        print("hatchway: gateway on http://127.0.0.1:8080, admin on http://127.0.0.1:19000")
        return subprocess.call(
            [
                str(Path(sys.executable).parent / "hatchway"),
                "serve",
                "-f",
                str(HERE / "gateway.yaml"),
                "--bind-address",
                "127.0.0.1",
            ]
        )
    except KeyboardInterrupt:
        return 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


if __name__ == "__main__":
    raise SystemExit(main())
