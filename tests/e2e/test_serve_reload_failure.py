"""A reload that fails for an unexpected reason (a bug) is reported as such on `/errors` and
`/readyz`, the last good configuration keeps serving, and the next good edit still goes live;
a failure at start does not end `serve`.

No input is known to crash the pipeline (the fuzz test keeps it so), so the fault is injected:
the real runtime, real files, real watcher and a real Envoy, with a file source that raises
while `fail` is set."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.echo import EchoPool
from e2e.harness import (
    free_port,
    gateway,
    gateway_class,
    http_request,
    http_route,
    service,
    wait_for,
    write_yaml,
)
from hatchway.runtime.inputs import FileSource, Loaded
from hatchway.runtime.serve import GatewayRuntime, ServeSettings

pytestmark = pytest.mark.e2e


class FaultySource(FileSource):
    fail = False

    def load(self) -> Loaded:
        if self.fail:
            raise RuntimeError("injected fault")
        return super().load()


class InProcess:
    """`GatewayRuntime.run` on its own event loop in a thread, stopped at the end."""

    def __init__(self, config: Path, state: Path) -> None:
        self.admin_port = free_port()
        settings = ServeSettings(
            paths=(str(config),),
            admin_port=self.admin_port,
            bind_address="127.0.0.1",
            state_dir=str(state),
            envoy_concurrency=1,
        )
        self.source = FaultySource(settings.paths)
        self.runtime = GatewayRuntime(settings, self.source)
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.result: list[int] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.result.append(self.loop.run_until_complete(self.runtime.run(self.stop)))

    def admin(self, path: str) -> Any:
        r = http_request(self.admin_port, path)
        return r.status, r.json()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)
        assert not self.thread.is_alive(), "serve did not stop"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[InProcess]:
    config = tmp_path / "config"
    config.mkdir()
    (tmp_path / "state").mkdir()
    running = InProcess(config, tmp_path / "state")
    yield running
    running.close()


def _failure(errors: list[dict[str, Any]]) -> str | None:
    found = [e["message"] for e in errors if e["message"].startswith("internal error: ")]
    return found[0] if found else None


def test_a_failed_reload_is_reported_and_the_next_good_edit_goes_live(
    tmp_path: Path, echo_pool: EchoPool, served: InProcess
) -> None:
    blue = echo_pool.servers.get("blue") or echo_pool.start("blue")
    config = Path(served.source.paths[0])
    port = free_port()
    write_yaml(config / "gateway.yaml", [gateway_class(), gateway("demo", port)])
    write_yaml(config / "services.yaml", service("blue", blue.port))
    write_yaml(config / "app.yaml", [http_route("app", "demo", [("/one", "blue")])])

    # At start: reported, and serve keeps running (today: a traceback and exit).
    served.source.fail = True
    served.thread.start()
    status, ready = wait_for(lambda: served.admin("/readyz"), 30, "admin API up")
    assert status == 503
    assert "internal error: reload failed (RuntimeError: injected fault)" in ready["reason"]
    assert "nothing is served yet" in ready["reason"]
    assert _failure(served.admin("/errors")[1]) is not None

    # The next edit goes live and clears the failure.
    served.source.fail = False
    write_yaml(config / "app.yaml", [http_route("app", "demo", [("/one", "blue")])])
    wait_for(lambda: http_request(port, "/one").status == 200 or None, 30, "/one served")
    wait_for(lambda: served.admin("/readyz")[0] == 200 or None, 30, "ready")
    assert _failure(served.admin("/errors")[1]) is None

    # While running: a failed reload is said on /errors and /readyz; what runs keeps serving.
    served.source.fail = True
    write_yaml(
        config / "app.yaml", [http_route("app", "demo", [("/one", "blue"), ("/two", "blue")])]
    )
    message = wait_for(lambda: _failure(served.admin("/errors")[1]), 30, "failure reported")
    assert "RuntimeError: injected fault" in message and "still serving generation" in message
    status, ready = served.admin("/readyz")
    assert status == 200, ready  # the last good generation serves: not a reason for an outage
    assert "reload failed" in ready["reason"]
    assert {"type": "reload", "message": message} in ready["details"]
    assert http_request(port, "/one").status == 200
    assert http_request(port, "/two").status == 404

    # And the next good edit still goes live.
    served.source.fail = False
    write_yaml(
        config / "app.yaml",
        [http_route("app", "demo", [("/one", "blue"), ("/two", "blue"), ("/three", "blue")])],
    )
    wait_for(lambda: http_request(port, "/three").status == 200 or None, 30, "/three served")
    assert http_request(port, "/two").status == 200
    assert _failure(served.admin("/errors")[1]) is None
    assert "reload failed" not in served.admin("/readyz")[1]["reason"]
