"""Admission webhook latency at N routes (issue 19): the controller's webhook server and reviewer
over HTTPS on loopback, fed the control-plane ladder's N-route cluster as its view.

A child process serves exactly what `hatchway controller --webhook-address` serves
(`runtime.webhook.WebhookServer` + `runtime.reviewer.Reviewer`, certificate from an
`Authority`, the view warmed by `keep_warm`), with the parsed snapshot of
`scenarios.routes_scenario(N)` as the controller's view (no API server: what is measured is
the webhook, not the API server's call to it). The parent sends AdmissionReviews one at a
time on one keep-alive HTTPS connection (as the API server does) and times each answer.

Kinds of review, taking turns: a new route (CREATE, clean), an edited route (UPDATE), a route
whose rule another shadows (warned), a route with a regex RE2 rejects (denied), a route of
another class (nothing to judge), a Gateway edit (full translation). Same-session baselines:
the HTTPS round trip of a review of a kind the webhook does not judge (the floor of TLS, JSON
and aiohttp), and a fresh `translate()` of the whole view in the parent (what each review would
cost without the incremental path). Then a burst: `--burst` concurrent new-route reviews on as
many connections (the reviewer runs one translation at a time).

Standalone: `.venv/bin/python -m benchmarks.admission_bench [--routes N] [--samples S]`;
writes `results/admission.json`. Bounded: every request has a 30 s timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import json
import ssl
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.machine import describe
from benchmarks.procs import Proc, rss_mib
from benchmarks.report import RESULTS
from benchmarks.scenarios import http_route, routes_scenario

GW = "gateway.networking.k8s.io/v1"


# --- the server (child process) -----------------------------------------------------------


def _snapshot(n: int) -> Any:
    from hatchway.model.parse import Document, parse_documents

    docs = routes_scenario(n)
    theirs = routes_scenario(0)[:2]  # another controller's class and Gateway
    theirs[0]["metadata"]["name"] = "theirs"
    theirs[0]["spec"]["controllerName"] = "example.com/another"
    theirs[1]["metadata"]["name"] = "their-gw"
    theirs[1]["spec"]["gatewayClassName"] = "theirs"
    docs += theirs
    parsed = parse_documents([Document("bench", i, d) for i, d in enumerate(docs)])
    assert not parsed.errors, parsed.errors[:3]
    return parsed.snapshot


def serve(directory: Path, n: int) -> None:
    from hatchway.pki import Authority
    from hatchway.runtime.reviewer import Reviewer
    from hatchway.runtime.webhook import WebhookServer, WebhookSettings
    from hatchway.translate import Settings

    async def main() -> None:
        view = (_snapshot(n), Settings())
        rss_parsed = rss_mib_self()
        ca = Authority.create(dt.datetime.now(dt.UTC))
        (directory / "ca.crt").write_bytes(ca.cert_pem)
        reviewer = Reviewer(lambda: view)
        server = WebhookServer(reviewer, WebhookSettings(host="127.0.0.1", port=0), ca)
        port = await server.start()
        warm = asyncio.create_task(reviewer.keep_warm())
        while reviewer._memo.last is None:  # the first view translated
            await asyncio.sleep(0.05)
        info = {"port": port, "rss_parsed_mib": rss_parsed, "rss_warm_mib": rss_mib_self()}
        (directory / "ready.json").write_text(json.dumps(info))
        await asyncio.Event().wait()  # until terminated
        warm.cancel()

    asyncio.run(main())


def rss_mib_self() -> float:
    import os

    return round(rss_mib(os.getpid()), 1)


# --- the client ---------------------------------------------------------------------------


def _review(body: dict[str, Any], operation: str, uid: str) -> bytes:
    request = {"uid": uid, "operation": operation, "object": body}
    if operation == "UPDATE":
        request["oldObject"] = body
    doc = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
    return json.dumps(doc).encode()


def _stamped(body: dict[str, Any], i: int) -> dict[str, Any]:
    body["metadata"]["creationTimestamp"] = f"2030-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z"
    return body


def bodies(n: int, i: int) -> dict[str, tuple[dict[str, Any], str]]:
    """One review of each kind, the i-th of its series (objects differ from one to the next)."""
    n_svc = min(1000, n)
    new = _stamped(http_route(n + i, n_svc), i)
    edited = http_route(i % n, n_svc)
    edited["spec"]["rules"][0]["matches"][0]["path"]["value"] = f"/edited{i}"
    shadowed = _stamped(http_route(i % n, n_svc), i)
    shadowed["metadata"]["name"] = f"copy-{i}"
    denied = _stamped(http_route(n + i, n_svc), i)
    denied["spec"]["rules"][0]["matches"][0]["path"] = {
        "type": "RegularExpression",
        "value": "(?=x)",
    }
    other = _stamped(http_route(n + i, n_svc), i)
    other["spec"]["parentRefs"] = [{"name": "their-gw"}]
    floor = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}, "data": {}}
    return {
        "floor (not judged)": (floor, "CREATE"),
        "new route": (new, "CREATE"),
        "edited route": (edited, "UPDATE"),
        "shadowed route (warned)": (shadowed, "CREATE"),
        "RE2-rejected route (denied)": (denied, "CREATE"),
        "another class's route": (other, "CREATE"),
    }


def gateway_edit(i: int) -> dict[str, Any]:
    gateway = routes_scenario(0)[1]
    gateway["metadata"]["annotations"] = {"edit": str(i)}
    return gateway


class Client:
    def __init__(self, port: int, ca: Path) -> None:
        context = ssl.create_default_context(cafile=str(ca))
        self.conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)

    def post(self, payload: bytes) -> tuple[float, dict[str, Any]]:
        t0 = time.perf_counter()
        self.conn.request("POST", "/validate", payload, {"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        data = resp.read()
        elapsed = time.perf_counter() - t0
        assert resp.status == 200, data[:300]
        return elapsed, json.loads(data)["response"]


def _stats(ms: list[float]) -> dict[str, Any]:
    ordered = sorted(ms)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "samples": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(max(ms), 2),
    }


def _burst(port: int, ca: Path, n: int, size: int, start: int) -> list[float]:
    out: list[float] = []
    lock = threading.Lock()

    def one(k: int) -> None:
        client = Client(port, ca)
        client.post(_review({"kind": "ConfigMap"}, "CREATE", "warm"))  # TLS handshake first
        body = _stamped(http_route(n + start + k, min(1000, n)), k)
        elapsed, _ = client.post(_review(body, "CREATE", f"b{k}"))
        with lock:
            out.append(elapsed * 1000)

    threads = [threading.Thread(target=one, args=(k,)) for k in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def measure(n: int, samples: int, burst: int, gateway_samples: int) -> dict[str, Any]:
    from hatchway.translate import translate

    with tempfile.TemporaryDirectory(prefix="hatchway-admission-bench-") as tmp:
        directory = Path(tmp)
        argv = [
            sys.executable,
            "-m",
            "benchmarks.admission_bench",
            "--serve",
            tmp,
            "--routes",
            str(n),
        ]
        server = Proc(argv, directory / "server.log")
        try:
            deadline = time.monotonic() + 300
            while not (directory / "ready.json").exists():
                assert server.alive() and time.monotonic() < deadline, server.tail()
                time.sleep(0.1)
            ready = json.loads((directory / "ready.json").read_text())
            client = Client(ready["port"], directory / "ca.crt")
            times: dict[str, list[float]] = {}
            answers: dict[str, dict[str, Any]] = {}
            for i in range(samples + 3):  # the first 3 rounds warm up
                for what, (body, op) in bodies(n, i).items():
                    elapsed, answer = client.post(_review(body, op, f"{i}"))
                    if i >= 3:
                        times.setdefault(what, []).append(elapsed * 1000)
                    answers[what] = answer
            # A Gateway edit translates everything, and so does the next route's review if
            # it comes before the reviewer has put its memo back on the view.
            for j in range(gateway_samples):
                elapsed, _ = client.post(_review(gateway_edit(j), "UPDATE", f"g{j}"))
                times.setdefault("Gateway edit (full translation)", []).append(elapsed * 1000)
                body = _stamped(http_route(2 * n + j, min(1000, n)), j)
                elapsed, _ = client.post(_review(body, "CREATE", f"a{j}"))
                times.setdefault("new route right after it", []).append(elapsed * 1000)
                time.sleep(2.0)
            rss_end = round(rss_mib(server.pid), 1)
            burst_ms = _burst(ready["port"], directory / "ca.crt", n, burst, 10 * samples)
        finally:
            server.stop()
    snapshot = _snapshot(n)
    full = []
    for _ in range(3):
        t0 = time.perf_counter()
        translate(snapshot)
        full.append((time.perf_counter() - t0) * 1000)
    return {
        "routes": n,
        "reviews": {what: _stats(ms) for what, ms in times.items()},
        "answers": {k: {f: v for f, v in a.items() if f != "uid"} for k, a in answers.items()},
        "burst": {"size": burst, **_stats(burst_ms)},
        "full_translate_ms": [round(x, 1) for x in full],
        "server_rss_mib": {
            "parsed_view": ready["rss_parsed_mib"],
            "after_warm_up": ready["rss_warm_mib"],
            "at_end": rss_end,
        },
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.admission_bench", description=__doc__)
    p.add_argument("--routes", type=int, default=3000)
    p.add_argument("--samples", type=int, default=200, help="reviews of each kind")
    p.add_argument("--burst", type=int, default=8)
    p.add_argument("--gateway-samples", type=int, default=10)
    p.add_argument("--serve", default=None, help=argparse.SUPPRESS)  # the child's role
    args = p.parse_args(argv)
    if args.serve:
        serve(Path(args.serve), args.routes)
        return 0
    data = measure(args.routes, args.samples, args.burst, args.gateway_samples)
    record = {"machine": describe(), "data": data}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "admission.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
