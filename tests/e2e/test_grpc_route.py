"""GRPCRoute end to end with a real grpcio client and server, over h2c (HTTP listener) and
HTTP/2 over TLS (HTTPS listener): method and header matching, precedence, header filters,
mirrors, weights, and the gRPC status of unmatched calls and invalid backends."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from e2e.grpc_echo import GrpcEcho, call, call_code
from e2e.harness import Hatchway, free_port, wait_for, write_yaml
from e2e.pki import CA
from manifests import (
    backend,
    gateway,
    gateway_class,
    l4_service,
    listener,
    parent,
    route,
    tls_secret,
)

pytestmark = pytest.mark.e2e

Factory = Callable[..., Hatchway]


def _m(service: str | None = None, method: str | None = None, regex: bool = False) -> Any:
    m: dict[str, Any] = {"type": "RegularExpression" if regex else "Exact"}
    if service:
        m["service"] = service
    if method:
        m["method"] = method
    return {"method": m}


@pytest.fixture(scope="module")
def echoes() -> Iterator[dict[str, GrpcEcho]]:
    servers = {n: GrpcEcho(n) for n in ("g1", "g2", "g3")}
    yield servers
    for s in servers.values():
        s.close()


@pytest.fixture
def grpc_gateway(
    tmp_path: Path, echoes: dict[str, GrpcEcho], hatchway_factory: Factory
) -> Iterator[dict[str, Any]]:
    ca = CA()
    http_port, https_port = free_port(), free_port()
    rules = [
        {"matches": [_m("echo.v1.Echo", "Hello")], "backendRefs": [backend("g1")]},
        {"matches": [_m("echo.v1.Echo")], "backendRefs": [backend("g3")]},
        # Disjoint from the exact rule: the core ranks a regex by its pattern length (§5's
        # "characters in the matching service"), so overlapping patterns are not tested here.
        {
            "matches": [_m(r"echo\.v[2-9][0-9]*\.Echo", "Hel.*", regex=True)],
            "backendRefs": [backend("g2")],
        },
        {"matches": [_m(method="OnlyMethod")], "backendRefs": [backend("g3")]},
        # Fewer header matches first: precedence must still pick the rule with more.
        {"matches": [_m("hdr.Svc")], "backendRefs": [backend("g1")]},
        {
            "matches": [{**_m("hdr.Svc"), "headers": [{"name": "version", "value": "two"}]}],
            "filters": [
                {
                    "type": "RequestHeaderModifier",
                    "requestHeaderModifier": {
                        "set": [{"name": "x-set", "value": "yes"}],
                        "add": [{"name": "x-added", "value": "1"}],
                        "remove": ["x-remove"],
                    },
                }
            ],
            "backendRefs": [backend("g2")],
        },
        {
            "matches": [_m("weighted.Svc")],
            "backendRefs": [backend("g1", weight=1), backend("g2", weight=3)],
        },
        {
            "matches": [_m("mirror.Svc")],
            "filters": [{"type": "RequestMirror", "requestMirror": {"backendRef": backend("g3")}}],
            "backendRefs": [backend("g1")],
        },
        {"matches": [_m("broken.Svc")], "backendRefs": [backend("does-not-exist")]},
        {
            "matches": [_m("half.Svc")],
            "backendRefs": [backend("g1", weight=1), backend("does-not-exist", weight=1)],
        },
    ]
    docs: list[Any] = [
        gateway_class(),
        tls_secret("grpc-cert", ca.issue("grpc-cert", dns=("grpc.test",))),
        gateway(
            "gw",
            [
                listener("h", http_port, "HTTP"),
                listener("s", https_port, "HTTPS", "grpc.test", ("grpc-cert",)),
            ],
        ),
        route("GRPCRoute", "main", [parent("gw")], rules, hostnames=["grpc.test"]),
        # A wildcard-hostname route: loses to `main` on grpc.test, serves other hosts.
        route(
            "GRPCRoute",
            "wild",
            [parent("gw", "h")],
            [{"matches": [_m("echo.v1.Echo", "Hello")], "backendRefs": [backend("g3")]}],
            hostnames=["*.test"],
        ),
    ]
    for name, echo in echoes.items():
        docs += l4_service(name, echo.port, app_protocol="kubernetes.io/h2c")
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "all.yaml", docs)
    hatchway_factory(config)
    for e in echoes.values():
        e.calls.clear()
    h2c = grpc.insecure_channel(
        f"127.0.0.1:{http_port}", options=[("grpc.default_authority", "grpc.test")]
    )
    other = grpc.insecure_channel(
        f"127.0.0.1:{http_port}", options=[("grpc.default_authority", "other.test")]
    )
    tls = grpc.secure_channel(
        f"127.0.0.1:{https_port}",
        grpc.ssl_channel_credentials(root_certificates=ca.pem.encode()),
        options=[("grpc.ssl_target_name_override", "grpc.test")],
    )
    yield {"h2c": h2c, "tls": tls, "other": other, "echoes": echoes}
    for ch in (h2c, other, tls):
        ch.close()


@pytest.mark.parametrize("transport", ["h2c", "tls"])
def test_method_matching_and_precedence(grpc_gateway: dict[str, Any], transport: str) -> None:
    ch = grpc_gateway[transport]
    cases = {
        "/echo.v1.Echo/Hello": "g1",  # exact service + method beats service-only and regex
        "/echo.v1.Echo/Other": "g3",  # service only
        "/echo.v22.Echo/Hello2": "g2",  # regular expressions on both
        "/any.Thing/OnlyMethod": "g3",  # method only
    }
    for method, want in cases.items():
        got = call(ch, method)
        assert (got["backend"], got["method"]) == (want, method), method


def test_unmatched_call_is_unimplemented(grpc_gateway: dict[str, Any]) -> None:
    for ch in (grpc_gateway["h2c"], grpc_gateway["tls"]):
        code, _ = call_code(ch, "/nope.Svc/Missing")
        assert code is grpc.StatusCode.UNIMPLEMENTED
        # Matching is case-sensitive.
        code, _ = call_code(ch, "/ECHO.v1.Echo/Hello")
        assert code is grpc.StatusCode.UNIMPLEMENTED


def test_hostname_precedence_across_routes(grpc_gateway: dict[str, Any]) -> None:
    assert call(grpc_gateway["h2c"], "/echo.v1.Echo/Hello")["backend"] == "g1"
    assert call(grpc_gateway["other"], "/echo.v1.Echo/Hello")["backend"] == "g3"
    code, _ = call_code(grpc_gateway["other"], "/echo.v1.Echo/Other")
    assert code is grpc.StatusCode.UNIMPLEMENTED


def test_header_matching_and_request_header_filter(grpc_gateway: dict[str, Any]) -> None:
    ch = grpc_gateway["h2c"]
    plain = call(ch, "/hdr.Svc/Get", metadata=(("x-remove", "r"),))
    assert plain["backend"] == "g1" and "x-set" not in plain["metadata"]
    got = call(
        ch,
        "/hdr.Svc/Get",
        metadata=(("version", "two"), ("x-remove", "r"), ("x-added", "0"), ("x-set", "no")),
    )
    assert got["backend"] == "g2"
    meta = got["metadata"]
    assert meta["x-set"] == ["yes"]
    assert sorted(",".join(meta["x-added"]).split(",")) == ["0", "1"]
    assert "x-remove" not in meta
    assert call(ch, "/hdr.Svc/Get", metadata=(("version", "three"),))["backend"] == "g1"


def test_weights_split_calls(grpc_gateway: dict[str, Any]) -> None:
    ch = grpc_gateway["h2c"]
    counts = Counter(call(ch, "/weighted.Svc/W")["backend"] for _ in range(200))
    assert set(counts) == {"g1", "g2"}
    # 1:3 expected (50 : 150); 5 sigma is about +-31 calls.
    assert 20 <= counts["g1"] <= 80, counts


def test_mirror_sends_a_copy(grpc_gateway: dict[str, Any]) -> None:
    echoes: dict[str, GrpcEcho] = grpc_gateway["echoes"]
    got = call(grpc_gateway["h2c"], "/mirror.Svc/M")
    assert got["backend"] == "g1"
    wait_for(lambda: "/mirror.Svc/M" in echoes["g3"].calls, 10, "the mirrored call on g3")
    assert "/mirror.Svc/M" not in echoes["g2"].calls


def test_invalid_backend_is_unavailable(grpc_gateway: dict[str, Any]) -> None:
    ch = grpc_gateway["h2c"]
    code, _ = call_code(ch, "/broken.Svc/X")
    assert code is grpc.StatusCode.UNAVAILABLE
    codes = Counter(call_code(ch, "/half.Svc/X")[0] for _ in range(60))
    assert set(codes) == {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}, codes


def test_grpc_on_https_uses_http2_by_alpn(grpc_gateway: dict[str, Any]) -> None:
    got = call(grpc_gateway["tls"], "/echo.v1.Echo/Hello", metadata=(("k", "v"),))
    assert got["backend"] == "g1" and got["metadata"]["k"] == ["v"]
