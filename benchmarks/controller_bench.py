"""Controller at scale against the real rig (hack/k8s): N HTTPRoutes created through the API
server -> seconds from the last create until every route's status is written, the number of
status writes (counted as HTTPRoute MODIFIED events that change `status`), and the controller's
RSS. Standalone: `python -m benchmarks.controller_bench [N ...]` (default 1000).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from lightkube import Client, KubeConfig

from hatchway.sources.kube import WATCHED, resource_class

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.controller.conftest import ControllerProcess, free_port  # noqa: E402

OURS = "hatchway.dev/gateway-controller"
RES = {s.kind: resource_class(s, s.versions[0]) for s in WATCHED}


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def run(kubeconfig: Path, n: int, timeout_s: float = 300) -> dict[str, Any]:
    client = Client(KubeConfig.from_file(str(kubeconfig)), field_manager="hatchway-bench")
    ns = f"bench-{uuid.uuid4().hex[:6]}"
    client.create(RES["Namespace"].from_dict({"metadata": {"name": ns}}))
    gc = f"gc-{ns}"
    client.create(
        RES["GatewayClass"].from_dict({"metadata": {"name": gc}, "spec": {"controllerName": OURS}})
    )
    client.create(
        RES["Gateway"].from_dict(
            {
                "metadata": {"namespace": ns, "name": "gw"},
                "spec": {
                    "gatewayClassName": gc,
                    "listeners": [{"name": "http", "protocol": "HTTP", "port": free_port()}],
                },
            }
        )
    )
    controller = ControllerProcess(kubeconfig, Path(f"/tmp/{ns}-controller.log"))
    writes = 0
    done: set[str] = set()
    stop = threading.Event()

    def watch() -> None:
        nonlocal writes
        wc = Client(KubeConfig.from_file(str(kubeconfig)))
        last: dict[str, Any] = {}
        for event, obj in wc.watch(RES["HTTPRoute"], namespace=ns):
            body = obj.to_dict()
            name = body["metadata"]["name"]
            status = body.get("status")
            if event == "MODIFIED" and status != last.get(name):
                writes += 1
            last[name] = status
            if any(p["controllerName"] == OURS for p in (status or {}).get("parents", [])):
                done.add(name)
            if stop.is_set():
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        controller.wait_http("/readyz", 60)
        started = time.monotonic()
        for i in range(n):
            client.create(
                RES["HTTPRoute"].from_dict(
                    {
                        "metadata": {"namespace": ns, "name": f"r{i}"},
                        "spec": {
                            "parentRefs": [{"name": "gw"}],
                            "hostnames": [f"h{i}.example"],
                            "rules": [
                                {"matches": [{"path": {"type": "PathPrefix", "value": f"/p{i}"}}]}
                            ],
                        },
                    }
                )
            )
        created = time.monotonic()
        while len(done) < n and time.monotonic() - created < timeout_s:
            time.sleep(0.05)
        converged = time.monotonic()
        time.sleep(2)  # count late duplicate writes too
        return {
            "routes": n,
            "create_s": round(created - started, 2),
            "converge_after_last_create_s": round(converged - created, 2),
            "converged": len(done),
            "status_writes": writes,
            "writes_per_route": round(writes / n, 3),
            "controller_rss_mib": _rss_mib(controller.proc.pid),
        }
    finally:
        stop.set()
        controller.stop()
        try:
            # Without kube-controller-manager a Namespace never finishes deleting: empty it.
            client.deletecollection(RES["HTTPRoute"], namespace=ns)
            client.delete(RES["Gateway"], "gw", namespace=ns)
            client.delete(RES["Namespace"], ns)
        except Exception as exc:  # a slow cleanup must not hide the measurement
            print(f"cleanup of {ns} incomplete: {exc!r}", file=sys.stderr)


if __name__ == "__main__":
    import subprocess

    up = subprocess.run([str(ROOT / "hack/k8s/up.sh")], capture_output=True, text=True, check=True)
    kc = Path(up.stdout.strip().splitlines()[-1])
    for size in [int(a) for a in sys.argv[1:]] or [1000]:
        print(json.dumps(run(kc, size)), flush=True)
