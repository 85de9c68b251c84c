"""`make run`: start the demo backends, then `hatchway serve` on this folder (Ctrl-C stops all)."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BACKENDS = {"blue": 9101, "green": 9102}


def _stop_with_parent() -> None:
    """In each child: get SIGTERM if this runner dies, however it dies (Linux prctl), so a
    killed runner leaves no gateway or backend behind."""
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):  # not Linux: Ctrl-C still stops all
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def main() -> int:
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "backend.py"), "--name", name, "--port", str(port)],
            preexec_fn=_stop_with_parent,  # noqa: PLW1509 (no threads here)
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
            ],
            preexec_fn=_stop_with_parent,
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
