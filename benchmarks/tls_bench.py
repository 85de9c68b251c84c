"""`python -m benchmarks.tls_bench [--duration S]`: TLS and TCP through Hatchway vs baselines.

Same session, seconds apart, loopback only, every run bounded:

* TLS handshakes/s: `openssl s_time -new` (full handshakes, no request) against Hatchway's
  HTTPS listener and against the same Envoy binary with a minimal hand-written static config
  (one listener, one inline certificate, HCM + router, one STATIC cluster).
* HTTPS requests/s: wrk (`-t1`, keep-alive, 16 connections) through both, to the nginx
  `return 200` backend (`baselines.start_backend`).
* TCP throughput: a source streaming 256 KiB writes for `duration` seconds to a sink
  (separate process) directly, through Hatchway's TCP listener (TCPRoute, tcp_proxy), and
  through the static Envoy's tcp_proxy (Envoy defaults, no buffer limits set).

Every measurement runs `--rounds` times, the targets taking turns (order reversed every other
round); the result is the median (single runs swing by ±30 % on the 2 shared cores), the raw
runs are kept. Both Envoys run with `--concurrency 1`. The certificate is EC P-256 (made
here); the catch-all HTTPS listener has no hostname so SNI-less clients (wrk to 127.0.0.1,
s_time) reach it.
Writes `benchmarks/results/tls.json` and prints it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import re
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from benchmarks.baselines import envoy_binary, start_backend, static_envoy_config
from benchmarks.gateway import Hatchway
from benchmarks.load import tool_path, wrk
from benchmarks.procs import Proc, free_port, wait_port
from benchmarks.scenarios import PROXY_HOST, gateway, proxy_prefix, service

RESULTS = Path(__file__).parent / "results" / "tls.json"
CHUNK = 256 * 1024


def _self_signed(cn: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


# --- processes ----------------------------------------------------------------------------------


def _sink(port_out: Any) -> None:
    """Accept connections and discard everything (runs in its own process)."""
    with socket.socket() as srv:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        port_out.put(srv.getsockname()[1])
        buf = bytearray(CHUNK)
        while True:
            conn, _ = srv.accept()
            with conn:
                while conn.recv_into(buf):
                    pass


def _stream(port: int, seconds: float) -> float:
    """Send for `seconds`; MiB/s as seen by the sender once the sink has read everything."""
    data = b"\0" * CHUNK
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            s.sendall(data)
            sent += len(data)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)  # the proxy closes once the sink has drained the stream
        elapsed = time.monotonic() - start
    return round(sent / elapsed / (1 << 20), 1)


def _tcp_listener(port: int) -> dict[str, Any]:
    return {
        "name": "tcp",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.tcp_proxy",
                        "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.filters.network."
                            "tcp_proxy.v3.TcpProxy",
                            "stat_prefix": "tcp",
                            "cluster": "sink",
                        },
                    }
                ]
            }
        ],
    }


def _static_cluster(name: str, port: int) -> dict[str, Any]:
    endpoint = {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": endpoint}]}],
        },
    }


def _static_tls_envoy(
    dir_: Path,
    backend_port: int,
    cert: tuple[str, str],
    tcp_port: int | None = None,
    sink_port: int = 0,
) -> tuple[Proc, int]:
    """The hand-written baseline: HTTPS to the backend, plus (optionally) tcp_proxy to the
    sink with Envoy's default buffer limits."""
    port, admin_port = free_port(), free_port()
    cfg = static_envoy_config(1, port, admin_port, backend_port)
    listener = cfg["static_resources"]["listeners"][0]
    listener["filter_chains"][0]["transport_socket"] = {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3."
            "DownstreamTlsContext",
            "common_tls_context": {
                "alpn_protocols": ["h2", "http/1.1"],
                "tls_certificates": [
                    {
                        "certificate_chain": {"inline_string": cert[0]},
                        "private_key": {"inline_string": cert[1]},
                    }
                ],
            },
        },
    }
    if tcp_port is not None:
        cfg["static_resources"]["listeners"].append(_tcp_listener(tcp_port))
        cfg["static_resources"]["clusters"].append(_static_cluster("sink", sink_port))
    dir_.mkdir(parents=True, exist_ok=True)
    path = dir_ / "envoy.json"
    path.write_text(json.dumps(cfg))
    cmd = [
        envoy_binary(),
        "--config-path",
        str(path),
        "--concurrency",
        "1",
        "--use-dynamic-base-id",
        "--log-level",
        "warning",
    ]
    proc = Proc(cmd, dir_ / "envoy.log")
    wait_port(port)
    return proc, port


def _hatchway_inputs(
    hw: Hatchway, https_port: int, tcp_port: int, *, backend_port: int, sink_port: int, cert: Any
) -> None:
    docs = gateway(hw.gateway_port)
    docs[1]["spec"]["listeners"] += [
        {
            "name": "https",
            "port": https_port,
            "protocol": "HTTPS",
            "tls": {"certificateRefs": [{"name": "bench-cert"}]},
            "allowedRoutes": {"namespaces": {"from": "All"}},
        },
        {"name": "tcp", "port": tcp_port, "protocol": "TCP"},
    ]
    docs += service("backend", backend_port) + service("sink", sink_port)
    docs += [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "bench-cert", "namespace": "default"},
            "type": "kubernetes.io/tls",
            "stringData": {"tls.crt": cert[0], "tls.key": cert[1]},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "bench", "namespace": "default"},
            "spec": {
                "parentRefs": [{"name": "bench", "sectionName": "https"}],
                "hostnames": [PROXY_HOST],
                "rules": [{"backendRefs": [{"name": "backend", "port": 80}]}],
            },
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1alpha2",
            "kind": "TCPRoute",
            "metadata": {"name": "sink", "namespace": "default"},
            "spec": {
                "parentRefs": [{"name": "bench", "sectionName": "tcp"}],
                "rules": [{"backendRefs": [{"name": "sink", "port": 80}]}],
            },
        },
    ]
    (hw.inputs / "bench.yaml").write_text(yaml.safe_dump_all(docs))


# --- measurements -------------------------------------------------------------------------------


def handshakes_per_s(port: int, seconds: int) -> float:
    out = subprocess.run(
        [
            tool_path("openssl"),
            "s_time",
            "-connect",
            f"127.0.0.1:{port}",
            "-new",
            "-time",
            str(seconds),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    m = re.search(r"(\d+) connections in (\d+) real seconds", out)
    if m is None:
        raise ValueError(f"cannot parse s_time output:\n{out}")
    return round(int(m.group(1)) / max(int(m.group(2)), 1), 1)


def _turns(targets: dict[str, Callable[[], float]], rounds: int) -> dict[str, Any]:
    """Each measurement `rounds` times, taking turns; medians plus the raw runs."""
    runs: dict[str, list[float]] = {name: [] for name in targets}
    for r in range(rounds):
        order = list(targets) if r % 2 == 0 else list(reversed(targets))
        for name in order:
            runs[name].append(targets[name]())
    out: dict[str, Any] = {name: round(statistics.median(v), 1) for name, v in runs.items()}
    out["runs"] = runs
    return out


def run(duration: float = 5.0, rounds: int = 3) -> dict[str, Any]:
    cert = _self_signed(PROXY_HOST)
    secs = max(int(duration), 1)
    q: Any = mp.get_context("fork").Queue()
    sink = mp.get_context("fork").Process(target=_sink, args=(q,), daemon=True)
    sink.start()
    sink_port = int(q.get(timeout=10))
    with tempfile.TemporaryDirectory(prefix="hatchway-tls-bench-") as tmp:
        root = Path(tmp)
        backend, backend_port = start_backend(root / "backend")
        static_tcp_port = free_port()
        static, static_port = _static_tls_envoy(
            root / "static", backend_port, cert, static_tcp_port, sink_port
        )
        hw = Hatchway(root / "hatchway")
        https_port, tcp_port = free_port(), free_port()
        _hatchway_inputs(
            hw, https_port, tcp_port, backend_port=backend_port, sink_port=sink_port, cert=cert
        )
        try:
            hw.start()
            hw.wait_ready()
            wait_port(https_port)
            out: dict[str, Any] = {"duration_s": secs, "rounds": rounds}
            out["handshakes_per_s"] = _turns(
                {
                    "hatchway": lambda: handshakes_per_s(https_port, secs),
                    "static_envoy": lambda: handshakes_per_s(static_port, secs),
                },
                rounds,
            )
            path = proxy_prefix(0)  # the static config's only route
            loads: dict[str, list[Any]] = {"hatchway": [], "static_envoy": []}

            def https(name: str, port: int) -> Callable[[], float]:
                def one() -> float:
                    res = wrk(f"https://127.0.0.1:{port}{path}", 16, secs, host=PROXY_HOST)
                    if res.non_2xx:
                        raise RuntimeError(f"{name}: {res.non_2xx} non-2xx answers")
                    loads[name].append(res.to_dict())
                    return float(res.rps)

                return one

            rps = _turns(
                {
                    "hatchway": https("hatchway", https_port),
                    "static_envoy": https("static_envoy", static_port),
                },
                rounds,
            )
            out["https_rps_16c"] = {
                name: {**_median_load(loads[name]), "rps": rps[name]} for name in loads
            }
            out["https_rps_16c"]["runs"] = rps["runs"]
            out["tcp_mib_per_s"] = _turns(
                {
                    "direct": lambda: _stream(sink_port, duration),
                    "hatchway": lambda: _stream(tcp_port, duration),
                    "static_envoy": lambda: _stream(static_tcp_port, duration),
                },
                rounds,
            )
            hs, web, tcp = out["handshakes_per_s"], out["https_rps_16c"], out["tcp_mib_per_s"]
            out["ratios"] = {
                "handshakes_hatchway_vs_static": round(hs["hatchway"] / hs["static_envoy"], 3),
                "https_rps_hatchway_vs_static": round(
                    web["hatchway"]["rps"] / web["static_envoy"]["rps"], 3
                ),
                "tcp_throughput_hatchway_vs_direct": round(tcp["hatchway"] / tcp["direct"], 3),
                "tcp_throughput_hatchway_vs_static": round(
                    tcp["hatchway"] / tcp["static_envoy"], 3
                ),
            }
            return out
        finally:
            hw.stop()
            static.stop()
            backend.stop()
            sink.kill()
            sink.join(5)


def _median_load(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """wrk results of several runs: median latencies, summed counts."""
    out = dict(runs[0])
    for k in ("p50_ms", "p90_ms", "p99_ms"):
        out[k] = round(statistics.median(r[k] for r in runs), 3)
    for k in ("requests", "non_2xx", "socket_errors"):
        out[k] = sum(r[k] for r in runs)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.tls_bench", description=__doc__)
    p.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    p.add_argument("--rounds", type=int, default=3, help="runs per measurement (median)")
    args = p.parse_args(argv)
    result = run(args.duration, args.rounds)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
