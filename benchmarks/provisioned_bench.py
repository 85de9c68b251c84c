"""A data plane per Gateway, timed on the full rig (hack/k8s, HATCHWAY_K8S_FULL=1):

- Gateway created -> first 200 through its LoadBalancer address (provisioning, the Envoy
  Pods starting, their certificate and first configuration, kube-proxy), for N Gateways one
  after another: p50 and max;
- a route change -> traffic through a provisioned proxy: an HTTPRoute gains a path, until the
  first 200 on it through the Gateway's address: p50 and p99 over R changes.

`python -m benchmarks.provisioned_bench [--gateways N] [--changes R]` (default 10, 20); writes
`benchmarks/results/provisioned.json`. Bounded: every wait has a timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from lightkube import Client, KubeConfig  # noqa: E402
from tests.provisioned.conftest import (  # noqa: E402
    Controller,
    _controller_service,
    _free_pair,
    apply,
    backend,
    gateway_address,
)

from benchmarks.machine import describe  # noqa: E402
from cluster import Cluster, _free_port, _free_port_pair, _read_env, wait_for  # noqa: E402

GW_API = "gateway.networking.k8s.io/v1"


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def _gateway(ns: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": GW_API,
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "gatewayClassName": "hatchway",
            "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
        },
    }


def _route(ns: str, gw: str, paths: list[str]) -> dict[str, Any]:
    # One rule (at most 16 are allowed), a match per path (at most 64).
    rules = [
        {
            "matches": [{"path": {"type": "PathPrefix", "value": p}} for p in paths],
            "backendRefs": [{"name": "echo", "port": 80}],
        }
    ]
    return {
        "apiVersion": GW_API,
        "kind": "HTTPRoute",
        "metadata": {"name": gw, "namespace": ns},
        "spec": {"parentRefs": [{"name": gw}], "rules": rules},
    }


def first_200(rig: Cluster, ns: str, n: int) -> list[float]:
    out = []
    for i in range(n):
        name = f"gw{i}"
        started = time.monotonic()
        apply(rig, _gateway(ns, name), _route(ns, name, ["/base"]))
        address = wait_for(name, lambda name=name: gateway_address(rig, ns, name), 300, 0.1)
        wait_for(f"{name} 200", lambda a=address: _status(f"http://{a}/base") == 200, 120, 0.05)
        out.append(time.monotonic() - started)
        print(f"  {name}: first 200 after {out[-1]:.1f} s", file=sys.stderr)
    return out


def route_changes(rig: Cluster, ns: str, changes: int) -> list[float]:
    address = gateway_address(rig, ns, "gw0")
    assert address is not None
    paths = ["/base"]
    out = []
    for k in range(changes):
        path = f"/change-{k}"
        assert _status(f"http://{address}{path}") == 404  # not routed before the change
        paths.insert(0, path)
        started = time.monotonic()
        apply(rig, _route(ns, "gw0", paths))
        wait_for(path, lambda p=path: _status(f"http://{address}{p}") == 200, 60, 0.005)
        out.append(time.monotonic() - started)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateways", type=int, default=10)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    state = Path(f"/tmp/hatchway-bench-rig-{os.getpid()}")
    env = {
        **os.environ,
        "HATCHWAY_K8S_STATE": str(state),
        "HATCHWAY_K8S_FULL": "1",
        "HATCHWAY_K8S_API_PORT": str(_free_port()),
        "HATCHWAY_K8S_ETCD_PORT": str(_free_port_pair()),
        "PYTHON": sys.executable,
    }
    up = subprocess.run(
        [str(ROOT / "hack/k8s/up.sh")], env=env, capture_output=True, text=True, check=True
    )
    kubeconfig = Path(up.stdout.strip().splitlines()[-1])
    controller: Controller | None = None
    try:
        client = Client(KubeConfig.from_file(kubeconfig), field_manager="hatchway-bench")
        rig = Cluster(kubeconfig, state, _read_env(state / "net.env"), client)
        port = _free_pair()
        apply(rig, *_controller_service(rig, port))
        controller = Controller(rig, port, _free_pair(), state / "controller.log")
        controller.start()
        ns = "bench"
        apply(rig, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        apply(rig, *backend(ns, "echo"))
        created = first_200(rig, ns, args.gateways)
        changed = route_changes(rig, ns, args.changes)
    finally:
        if controller is not None:
            controller.stop()
        subprocess.run([str(ROOT / "hack/k8s/down.sh")], env=env, check=False)
    result = {
        "machine": describe(),
        "gateway_first_200_s": {
            "n": len(created),
            "p50": round(statistics.median(created), 2),
            "max": round(max(created), 2),
            "all": [round(x, 2) for x in created],
        },
        "route_change_to_traffic_ms": {
            "n": len(changed),
            "p50": round(statistics.median(changed) * 1000, 1),
            "p99": round(sorted(changed)[max(0, int(len(changed) * 0.99) - 1)] * 1000, 1),
        },
    }
    out = ROOT / "benchmarks" / "results" / "provisioned.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
