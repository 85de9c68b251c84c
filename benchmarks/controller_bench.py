"""Controller at scale against the real rig (hack/k8s): N HTTPRoutes created through the API
server -> seconds from the last create until every route's status is written, the number of
status writes (counted as HTTPRoute MODIFIED events that change `status`), and the controller's
RSS. Then, with `--churn R`, R rounds of churn on the live routes (each round updates a tenth of
them and deletes and recreates a twentieth, then waits until every status describes the route's
current generation), sampling the controller's RSS after each round: memory must stay flat.

Standalone: `python -m benchmarks.controller_bench [--churn R] [N ...]` (default 1000, no
churn); writes `benchmarks/results/controller.json`. Bounded: each wait has a timeout and churn
stops after `churn_budget_s` even if rounds are left.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lightkube import Client, KubeConfig
from lightkube.types import PatchType

from hatchway.sources.kube import WATCHED, resource_class

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.controller.conftest import ControllerProcess, free_port  # noqa: E402

from benchmarks.machine import describe  # noqa: E402

OURS = "hatchway.dev/gateway-controller"
RES: dict[str, Any] = {s.kind: resource_class(s, s.versions[0]) for s in WATCHED}


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _route(ns: str, i: int, version: int = 0) -> dict[str, Any]:
    return {
        "metadata": {"namespace": ns, "name": f"r{i}"},
        "spec": {
            "parentRefs": [{"name": "gw"}],
            "hostnames": [f"h{i}.example"],
            "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": f"/p{i}-{version}"}}]}],
        },
    }


def _describes_generation(body: dict[str, Any]) -> bool:
    """Our status entry speaks about the route's current spec."""
    gen = body["metadata"].get("generation")
    for p in (body.get("status") or {}).get("parents", []):
        if p.get("controllerName") == OURS:
            conds = p.get("conditions") or []
            return bool(conds) and all(c.get("observedGeneration") == gen for c in conds)
    return False


def run(
    kubeconfig: Path,
    n: int,
    timeout_s: float = 300,
    churn_rounds: int = 0,
    churn_budget_s: float = 180,
) -> dict[str, Any]:
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
    done: set[str] = set()  # routes whose status describes their current generation
    stop = threading.Event()

    def watch() -> None:
        nonlocal writes
        wc = Client(KubeConfig.from_file(str(kubeconfig)))
        last: dict[str, Any] = {}
        for event, obj in wc.watch(RES["HTTPRoute"], namespace=ns):
            body = obj.to_dict()
            name = body["metadata"]["name"]
            status = body.get("status")
            if event == "DELETED":
                last.pop(name, None)
                done.discard(name)
                continue
            if event == "MODIFIED" and status != last.get(name):
                writes += 1
            last[name] = status
            if _describes_generation(body):
                done.add(name)
            else:
                done.discard(name)
            if stop.is_set():
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        controller.wait_http("/readyz", 60)
        started = time.monotonic()
        for i in range(n):
            client.create(RES["HTTPRoute"].from_dict(_route(ns, i)))
        created = time.monotonic()
        while len(done) < n and time.monotonic() - created < timeout_s:
            time.sleep(0.05)
        converged = time.monotonic()
        time.sleep(2)  # count late duplicate writes too
        result: dict[str, Any] = {
            "routes": n,
            "create_s": round(created - started, 2),
            "converge_after_last_create_s": round(converged - created, 2),
            "converged": len(done),
            "status_writes": writes,
            "writes_per_route": round(writes / n, 3),
            "controller_rss_mib": _rss_mib(controller.proc.pid),
        }
        if churn_rounds:
            result["churn"] = _churn(
                client,
                ns,
                n,
                churn_rounds,
                churn_budget_s,
                controller.proc.pid,
                done,
                lambda: writes,
            )
        return result
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


def _churn(  # noqa: PLR0917
    client: Client,
    ns: str,
    n: int,
    rounds: int,
    budget_s: float,
    pid: int,
    done: set[str],
    writes: Callable[[], int],
) -> dict[str, Any]:
    """Rounds of updates, deletes and recreates; RSS after each round has converged."""
    updated, recreated = max(1, n // 10), max(1, n // 20)
    rss = [_rss_mib(pid)]
    round_s: list[float] = []
    writes_before, changes = writes(), 0
    t0 = time.monotonic()
    for r in range(1, rounds + 1):
        if time.monotonic() - t0 > budget_s:
            break
        base = (r * (updated + recreated)) % n
        ups = [(base + k) % n for k in range(updated)]
        res = [(base + updated + k) % n for k in range(recreated)]
        touched = {f"r{i}" for i in ups + res}
        # Their old statuses no longer count, even before the watch reports the change (and
        # not after it: the new status may be reported before the last change is sent).
        done.difference_update(touched)
        for i in ups:
            client.patch(
                RES["HTTPRoute"],
                f"r{i}",
                {"spec": _route(ns, i, r)["spec"]},
                namespace=ns,
                patch_type=PatchType.MERGE,
            )
        for i in res:
            client.delete(RES["HTTPRoute"], f"r{i}", namespace=ns)
        for i in res:
            client.create(RES["HTTPRoute"].from_dict(_route(ns, i, r)))
        changes += len(ups) + len(res)
        sent = time.monotonic()
        # Converged when every route of this round describes its new spec again.
        while time.monotonic() - sent < 60:
            time.sleep(0.05)
            if len(done) >= n and touched <= done:
                break
        else:
            late = sorted(touched - done)[:5]
            print(
                f"churn round {r}: not converged after 60 s ({len(done)}/{n} done; e.g. {late})",
                file=sys.stderr,
            )
        round_s.append(round(time.monotonic() - sent, 2))
        rss.append(_rss_mib(pid))
    time.sleep(2)
    return {
        "rounds": len(round_s),
        "changes": changes,
        "updated_per_round": updated,
        "recreated_per_round": recreated,
        "converge_after_last_change_s": round_s,
        "status_writes": writes() - writes_before,
        "writes_per_change": round((writes() - writes_before) / max(changes, 1), 3),
        "rss_mib_by_round": rss,
        "rss_after_s": {"start": rss[0], "end": _rss_mib(pid), "max": max(rss)},
        "elapsed_s": round(time.monotonic() - t0, 1),
    }


if __name__ == "__main__":
    import subprocess

    args = argparse.ArgumentParser(prog="python -m benchmarks.controller_bench")
    args.add_argument("sizes", nargs="*", type=int, default=[1000])
    args.add_argument("--churn", type=int, default=0, help="churn rounds after each size")
    opts = args.parse_args()
    up = subprocess.run([str(ROOT / "hack/k8s/up.sh")], capture_output=True, text=True, check=True)
    kc = Path(up.stdout.strip().splitlines()[-1])
    t0 = time.monotonic()
    rows = []
    for size in opts.sizes:
        rows.append(run(kc, size, churn_rounds=opts.churn))
        print(json.dumps(rows[-1]), flush=True)
    record = {
        "machine": describe(),
        "mode": "standalone",
        "elapsed_s": round(time.monotonic() - t0, 1),
        "data": {"runs": rows},
    }
    (ROOT / "benchmarks/results/controller.json").write_text(json.dumps(record, indent=1) + "\n")
