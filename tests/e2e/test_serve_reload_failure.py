"""A reload that fails for an unexpected reason (a bug) is reported as such on `/errors` and
`/readyz`, the last good configuration keeps serving, and the next good edit still goes live;
a failure at start does not end `serve`.

No input is known to crash the pipeline (the fuzz test keeps it so), so the fault is injected:
the real runtime, real files, real watcher and a real Envoy, with a file source that raises
while a marker file exists."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from e2e.echo import EchoPool
from e2e.harness import ROOT, free_port, http_request, wait_for, write_yaml
from manifests import gateway_class, http_gateway, http_route, service

pytestmark = pytest.mark.e2e

# `hatchway serve`, but with the file source failing while the file `argv[2]` exists. Its
# own process, as serve runs (forking Envoy from a process full of test threads is not).
RUNNER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from hatchway.sources.file_source import FileSource
    from hatchway.runtime.serve import GatewayRuntime, ServeSettings

    class FaultySource(FileSource):
        def load(self):
            if os.path.exists(sys.argv[2]):
                raise RuntimeError("injected fault")
            return super().load()

    async def main():
        settings = ServeSettings(
            paths=(sys.argv[1],), admin_port=int(sys.argv[3]), bind_address="127.0.0.1",
            envoy_concurrency=1,
        )
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        return await GatewayRuntime(settings, FaultySource(settings.paths)).run(stop)

    sys.exit(asyncio.run(main()))
    """
)


class Served:
    def __init__(self, config: Path, fail: Path, log: Path) -> None:
        self.admin_port = free_port()
        self.fail = fail
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", RUNNER, str(config), str(fail), str(self.admin_port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
            )

    def admin(self, path: str) -> Any:
        assert self.proc.poll() is None, "serve exited"
        r = http_request(self.admin_port, path)
        return r.status, r.json()

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    return tmp_path / "config"


def _failure(errors: list[dict[str, Any]]) -> str | None:
    found = [e["message"] for e in errors if e["message"].startswith("internal error: ")]
    return found[0] if found else None


def test_a_failed_reload_is_reported_and_the_next_good_edit_goes_live(
    tmp_path: Path, echo_pool: EchoPool, config: Path
) -> None:
    blue = echo_pool.servers.get("blue") or echo_pool.start("blue")
    port = free_port()
    write_yaml(config / "gateway.yaml", [gateway_class(), http_gateway("demo", port)])
    write_yaml(config / "services.yaml", service("blue", blue.port))
    write_yaml(config / "app.yaml", [http_route("app", "demo", [("/one", "blue")])])
    fail = tmp_path / "FAIL"

    # At start: reported, and serve keeps running (today: a traceback and exit).
    fail.touch()
    served = Served(config, fail, tmp_path / "serve.log")
    try:
        _scenario(served, config, port)
    except AssertionError as exc:
        log = (tmp_path / "serve.log").read_text()[-3000:]
        raise AssertionError(f"{exc}\n--- log ---\n{log}") from None
    finally:
        served.close()


def _scenario(served: Served, config: Path, port: int) -> None:
    status, ready = wait_for(lambda: served.admin("/readyz"), 30, "admin API up")
    assert status == 503
    assert "internal error: reload failed (RuntimeError: injected fault)" in ready["reason"]
    assert "nothing is served yet" in ready["reason"]
    assert _failure(served.admin("/errors")[1]) is not None

    # The next edit goes live and clears the failure.
    served.fail.unlink()
    write_yaml(config / "app.yaml", [http_route("app", "demo", [("/one", "blue")])])
    wait_for(lambda: http_request(port, "/one").status == 200 or None, 30, "/one served")
    wait_for(lambda: served.admin("/readyz")[0] == 200 or None, 30, "ready")
    assert _failure(served.admin("/errors")[1]) is None

    # While running: a failed reload is said on /errors and /readyz; what runs keeps serving.
    served.fail.touch()
    routes = [("/one", "blue"), ("/two", "blue")]
    write_yaml(config / "app.yaml", [http_route("app", "demo", routes)])
    message = wait_for(lambda: _failure(served.admin("/errors")[1]), 30, "failure reported")
    assert "RuntimeError: injected fault" in message and "still serving generation" in message
    status, ready = served.admin("/readyz")
    assert status == 200, ready  # the last good generation serves: not a reason for an outage
    assert "reload failed" in ready["reason"]
    assert {"type": "reload", "message": message} in ready["details"]
    assert http_request(port, "/one").status == 200
    assert http_request(port, "/two").status == 404

    # And the next good edit still goes live.
    served.fail.unlink()
    routes.append(("/three", "blue"))
    write_yaml(config / "app.yaml", [http_route("app", "demo", routes)])
    wait_for(lambda: http_request(port, "/three").status == 200 or None, 30, "/three served")
    assert http_request(port, "/two").status == 200
    assert _failure(served.admin("/errors")[1]) is None
    assert "reload failed" not in served.admin("/readyz")[1]["reason"]
