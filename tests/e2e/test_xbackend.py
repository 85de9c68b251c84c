"""XBackend (GEP-4894, Gateway API v1.7 experimental) through a real Envoy, from files:
endpointSelector endpoints from Pod objects (labels, addresses, readiness — each Pod an echo
server on its own loopback address), session persistence on the backend (cookie and header,
Envoy's stateful-session filter), TLS from the XBackend (HTTP/1.1 and WSS)."""

from __future__ import annotations

import base64
import os
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.echo import EchoPool, EchoServer
from e2e.harness import Hatchway, free_port, http_request, wait_for, write_yaml
from e2e.pki import CA
from e2e.tls_echo import TLSEchoServer, server_context
from e2e.ws_backend import WebSocketEcho, accept_key, frame, read_frame, read_head
from manifests import ca_config_map, gateway, gateway_class, listener, parent, route

pytestmark = pytest.mark.e2e

XB = "gateway.networking.x-k8s.io"


def pod(name: str, ip: str, labels: dict[str, str], ready: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "status": {
            "phase": "Running",
            "podIP": ip,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def xbackend(name: str, port: int, labels: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{XB}/v1alpha1",
        "kind": "XBackend",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "type": "EndpointSelector",
            "endpointSelector": {"matchLabels": labels},
            "port": {"number": port},
            **spec,
        },
    }


def rule(path: str, backend: str) -> dict[str, Any]:
    return {
        "matches": [{"path": {"type": "PathPrefix", "value": path}}],
        "backendRefs": [{"group": XB, "kind": "XBackend", "name": backend}],
    }


@pytest.fixture(scope="module")
def pods(echo_pool: EchoPool) -> Iterator[tuple[int, dict[str, EchoServer]]]:
    """Echo "Pods" on 127.0.0.2-4, all on one port (an XBackend names one port)."""
    port = free_port()
    servers: dict[str, EchoServer] = {}
    for i, name in enumerate(("pod-a", "pod-b", "pod-other"), start=2):
        servers[name] = echo_pool.add(EchoServer(name, host=f"127.0.0.{i}", port=port))
    yield port, servers
    for name in servers:
        echo_pool.stop(name)


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
    pods: tuple[int, dict[str, EchoServer]],
    echo_pool: EchoPool,
) -> Iterator[dict[str, Any]]:
    tmp: Path = tmp_path_factory.mktemp("xbackend")
    pod_port, _ = pods
    ca = CA("xbackend CA")
    secure_port = free_port()
    tls_pod = echo_pool.add(
        TLSEchoServer(
            "pod-tls",
            host="127.0.0.5",
            port=secure_port,
            ssl_context=server_context(ca.issue("pod", dns=("api.internal",))),
        )
    )
    wss = WebSocketEcho("pod-wss", tls=server_context(ca.issue("ws", dns=("ws.internal",))))
    gw_port = free_port()
    validation = {"caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": "ca"}]}
    config = tmp / "config"
    config.mkdir()
    write_yaml(
        config / "static.yaml",
        [
            gateway_class(),
            ca_config_map("ca", ca.pem),
            gateway("gw", [listener("h", gw_port, "HTTP")]),
            route(
                "HTTPRoute",
                "r",
                [parent("gw")],
                [
                    rule("/plain", "api"),
                    rule("/cookie", "sticky"),
                    rule("/header", "sticky-header"),
                    rule("/tls", "secure"),
                    rule("/badtls", "secure-wrong-host"),
                    rule("/ws", "wss"),
                ],
            ),
            xbackend("api", pod_port, {"app": "api"}),
            xbackend(
                "sticky",
                pod_port,
                {"app": "api"},
                sessionPersistence={"cookie": {"name": "api-session"}},
            ),
            xbackend(
                "sticky-header",
                pod_port,
                {"app": "api"},
                sessionPersistence={"type": "Header", "header": {"name": "x-api-session"}},
            ),
            xbackend(
                "secure",
                secure_port,
                {"app": "secure"},
                tls={
                    "mode": "ServerOnly",
                    "validation": {**validation, "hostname": "api.internal"},
                },
            ),
            xbackend(
                "secure-wrong-host",
                secure_port,
                {"app": "secure"},
                tls={"mode": "ServerOnly", "validation": {**validation, "hostname": "other.test"}},
            ),
            xbackend(
                "wss",
                wss.port,
                {"app": "wss"},
                protocol="WSS",
                tls={"mode": "ServerOnly", "validation": {**validation, "hostname": "ws.internal"}},
            ),
            pod("tls-pod", "127.0.0.5", {"app": "secure"}),
            pod("wss-pod", "127.0.0.1", {"app": "wss"}),
        ],
    )
    pods_file = config / "pods.yaml"
    write_yaml(pods_file, _pods(b_ready=True))
    hw = Hatchway(config, tmp / "hatchway.log")
    hw.start()
    try:
        yield {"port": gw_port, "pods": pods_file, "hw": hw}
    finally:
        hw.stop()
        wss.close()
        echo_pool.stop(tls_pod.name)


def _pods(b_ready: bool) -> list[dict[str, Any]]:
    return [
        pod("pod-a", "127.0.0.2", {"app": "api", "tier": "web"}),
        pod("pod-b", "127.0.0.3", {"app": "api"}, ready=b_ready),
        pod("pod-other", "127.0.0.4", {"app": "other"}),
    ]


def _backends(setup: dict[str, Any], path: str, n: int = 30) -> Counter[str]:
    return Counter(http_request(setup["port"], path).json()["backend"] for _ in range(n))


def test_endpoints_are_the_selected_ready_pods(setup: dict[str, Any]) -> None:
    assert set(_backends(setup, "/plain")) == {"pod-a", "pod-b"}  # never pod-other
    write_yaml(setup["pods"], _pods(b_ready=False))
    wait_for(lambda: set(_backends(setup, "/plain", 10)) == {"pod-a"}, 15, "pod-b to leave")
    write_yaml(setup["pods"], _pods(b_ready=True))
    wait_for(lambda: set(_backends(setup, "/plain")) == {"pod-a", "pod-b"}, 15, "pod-b back")


def test_cookie_session_persistence_on_the_backend(setup: dict[str, Any]) -> None:
    first = http_request(setup["port"], "/cookie")
    cookie = first.headers.get("set-cookie", "")
    assert cookie.startswith("api-session="), first.headers
    assert "Path=/" in cookie  # v1.7: the path defaults to /, not the route's
    pinned = first.json()["backend"]
    value = cookie.split(";")[0]
    got = Counter(
        http_request(setup["port"], "/cookie", headers={"Cookie": value}).json()["backend"]
        for _ in range(20)
    )
    assert got == Counter({pinned: 20})


def test_header_session_persistence_on_the_backend(setup: dict[str, Any]) -> None:
    first = http_request(setup["port"], "/header")
    token = first.headers.get("x-api-session")
    assert token, first.headers
    pinned = first.json()["backend"]
    got = Counter(
        http_request(setup["port"], "/header", headers={"x-api-session": token}).json()["backend"]
        for _ in range(20)
    )
    assert got == Counter({pinned: 20})
    assert set(_backends(setup, "/header", 40)) == {"pod-a", "pod-b"}


def test_tls_from_the_xbackend(setup: dict[str, Any]) -> None:
    r = http_request(setup["port"], "/tls/x")
    assert (r.status, r.json()["backend"]) == (200, "pod-tls")
    bad = http_request(setup["port"], "/badtls/x")  # certificate not for other.test
    assert 500 <= bad.status <= 599


def test_websocket_over_tls_with_protocol_wss(setup: dict[str, Any]) -> None:
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", setup["port"]), timeout=5) as s:
        s.sendall(
            (
                "GET /ws HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = read_head(s).decode("latin-1").lower()
        assert head.startswith("http/1.1 101"), head
        assert f"sec-websocket-accept: {accept_key(key)}".lower() in head
        s.sendall(frame(b"hi", mask=True))
        assert read_frame(s) == b"pod-wss: hi"
