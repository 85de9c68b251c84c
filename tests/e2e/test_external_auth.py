"""ExternalAuth through Envoy's ext_authz against real authorization services started here
(gRPC `envoy.service.auth.v3.Authorization` and HTTP): on an HTTPRoute rule (GEP-1494) and as
a listener's pre-routing filters (GEP-5224, GatewayListenerFilters)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import manifests
from e2e.auth_servers import GrpcAuth, HttpAuth
from e2e.echo import EchoPool
from e2e.harness import conditions, free_port, http_request, status_of
from e2e.rig import Port, RecordingEcho, Rig, recording_echo, running_rig, svc
from manifests import Doc, parent

pytestmark = pytest.mark.e2e

GOOD = {"Authorization": "Bearer good"}


def auth(protocol: str, service: str, **config: Any) -> Doc:
    out: Doc = {"protocol": protocol, "backendRef": {"name": service, "port": 80}}
    out["http" if protocol == "HTTP" else "grpc"] = config
    return out


def rule(path: str, to: str, *filters: Doc, **extra: Any) -> Doc:
    return {
        "matches": [{"path": {"type": "PathPrefix", "value": path}}],
        "filters": [{"type": "ExternalAuth", "externalAuth": f} for f in filters],
        "backendRefs": [{"name": to, "port": 80}],
        **extra,
    }


def route(name: str, section: str, rules: list[Doc], hostnames: list[str]) -> Doc:
    return manifests.route("HTTPRoute", name, [parent("gw", section)], rules, hostnames)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[HttpAuth, GrpcAuth]]:
    h, g = HttpAuth(), GrpcAuth()
    yield h, g
    h.close()
    g.close()


@pytest.fixture(scope="module")
def backends(echo_pool: EchoPool) -> dict[str, RecordingEcho]:
    return {n: recording_echo(echo_pool, f"auth-{n}") for n in ("b1", "b2")}


@pytest.fixture(scope="module")
def rig(
    tmp_path_factory: pytest.TempPathFactory,
    servers: tuple[HttpAuth, GrpcAuth],
    backends: dict[str, RecordingEcho],
) -> Iterator[Rig]:
    http_auth, grpc_auth = servers
    filtered_port = free_port()
    http_check = auth(
        "HTTP",
        "http-auth",
        path="/check",
        allowedHeaders=["X-User"],
        allowedResponseHeaders=["X-Auth-User"],
    )
    routes = [
        route(
            "auth",
            "plain",
            [
                rule("/http", "b1", {**http_check, "forwardBody": {"maxSize": 5}}),
                rule(
                    "/grpc",
                    "b1",
                    auth("GRPC", "grpc-auth", allowedHeaders=["authorization", "x-user"]),
                ),
                rule("/down", "b1", auth("HTTP", "dead-auth")),
                rule("/missing", "b1", auth("HTTP", "no-such-service")),
                rule("/open", "b1"),
            ],
            ["auth.example"],
        ),
        route(
            "tenants",
            "filtered",
            [
                {
                    "matches": [{"headers": [{"name": "x-tenant", "value": t}]}],
                    "backendRefs": [{"name": b, "port": 80}],
                }
                for t, b in (("blue", "b1"), ("green", "b2"))
            ],
            ["tenants.example"],
        ),
    ]
    listener_filters = {
        "requests": [
            {"type": "ExternalAuth", "externalAuth": auth("HTTP", "http-auth")},
            {"type": "ExternalAuth", "externalAuth": auth("GRPC", "grpc-auth")},
        ]
    }
    listeners = [
        {"name": "plain", "protocol": "HTTP"},
        {
            "name": "filtered",
            "protocol": "HTTP",
            "port": filtered_port,
            "filters": listener_filters,
        },
    ]
    services = [
        *svc("b1", backends["b1"]),
        *svc("b2", backends["b2"]),
        *svc("http-auth", Port(http_auth.port)),
        *svc("grpc-auth", Port(grpc_auth.port)),
        *svc("dead-auth", Port(free_port())),  # nothing listens there
    ]
    tmp: Path = tmp_path_factory.mktemp("extauth")
    with running_rig(tmp, routes, services, listeners=listeners) as r:
        r.filtered_port = filtered_port  # type: ignore[attr-defined]
        yield r


def _get(rig: Rig, path: str, **headers: str) -> Any:
    return rig.request(path, "auth.example", headers=headers)


# --- HTTPRoute filter --------------------------------------------------------------------------


def test_http_service_allows_and_shapes_headers(
    rig: Rig, servers: tuple[HttpAuth, GrpcAuth]
) -> None:
    http_auth, _ = servers
    before = len(http_auth.seen)
    r = _get(rig, "/http/a?x=1", **GOOD, **{"X-User": "u1", "X-Secret": "s"})
    assert r.status == 200, r.body
    seen = r.json()
    assert seen["backend"] == "auth-b1"
    # Only the allowed response header reached the backend; the service's Host did not.
    assert seen["headers"]["x-auth-user"] == ["http-alice"]
    assert "x-other" not in seen["headers"]
    assert seen["host"] == "auth.example"
    (check,) = http_auth.seen[before:]
    # The service saw the path under its prefix, the fixed headers and the allowed one.
    assert check.path == "/check/http/a?x=1"
    assert check.headers["authorization"] == "Bearer good"
    assert check.headers["x-user"] == "u1"
    assert "x-secret" not in check.headers


def test_http_service_denial_is_the_answer(rig: Rig, backends: dict[str, RecordingEcho]) -> None:
    r = _get(rig, "/http/denied-path", Authorization="Bearer bad")
    assert r.status == 403
    assert r.headers.get("x-deny-reason") == "bad token"
    assert r.body == b"denied by http auth"
    assert "/http/denied-path" not in backends["b1"].paths


def test_body_is_forwarded_up_to_max_size(rig: Rig, servers: tuple[HttpAuth, GrpcAuth]) -> None:
    http_auth, _ = servers
    before = len(http_auth.seen)
    r = rig.request("/http/body", "auth.example", method="POST", headers=GOOD, body=b"hello world")
    assert r.status == 200
    assert r.json()["body"] == "hello world"  # the backend gets all of it
    (check,) = http_auth.seen[before:]
    assert check.body == b"hello"  # the service the first maxSize bytes


def test_grpc_service_allows_and_adds_headers(rig: Rig, servers: tuple[HttpAuth, GrpcAuth]) -> None:
    _, grpc_auth = servers
    before = len(grpc_auth.seen)
    r = _get(rig, "/grpc/x", **GOOD, **{"X-User": "u2", "X-Secret": "s"})
    assert r.status == 200, r.body
    seen = r.json()
    assert seen["headers"]["x-auth-user"] == ["grpc-alice"]
    assert seen["host"] == "auth.example"  # the service's Host change was ignored
    (check,) = grpc_auth.seen[before:]
    assert (check.method, check.path, check.host) == ("GET", "/grpc/x", "auth.example")
    assert check.headers.get("x-user") == "u2"
    assert "x-secret" not in check.headers  # grpc.allowedHeaders


def test_grpc_service_denial(rig: Rig, backends: dict[str, RecordingEcho]) -> None:
    r = _get(rig, "/grpc/nope")
    assert r.status == 401
    assert r.headers.get("www-authenticate") == "Bearer"
    assert r.body == b"denied by grpc auth"
    assert "/grpc/nope" not in backends["b1"].paths


def test_unreachable_service_fails_closed(rig: Rig, backends: dict[str, RecordingEcho]) -> None:
    r = _get(rig, "/down/x", **GOOD)
    assert r.status == 403
    assert "/down/x" not in backends["b1"].paths
    assert _get(rig, "/open/x").status == 200  # a rule without the filter is not affected


def test_unresolved_service_answers_500(rig: Rig) -> None:
    assert _get(rig, "/missing/x", **GOOD).status == 500
    resources = rig.hw.admin("/status").json()["resources"]
    parents = status_of(resources, "HTTPRoute", "auth")["parents"]
    assert conditions(parents[0])["ResolvedRefs"] == ("False", "BackendNotFound")


# --- Listener pre-routing filters --------------------------------------------------------------


def _tenant(rig: Rig, path: str, **headers: str) -> Any:
    return http_request(rig.filtered_port, path, host="tenants.example", headers=headers)  # type: ignore[attr-defined]


def test_listener_filters_run_before_routing(rig: Rig) -> None:
    """The services set `x-tenant` from the token; routing matches on it (not on the
    client's own `x-tenant`, which they overwrite)."""
    blue = _tenant(rig, "/a", Authorization="Bearer tenant-blue", **{"X-Tenant": "green"})
    assert blue.status == 200 and blue.json()["backend"] == "auth-b1"
    green = _tenant(rig, "/a", Authorization="Bearer tenant-green")
    assert green.status == 200 and green.json()["backend"] == "auth-b2"
    assert green.json()["host"] == "tenants.example"  # Host unchanged


def test_listener_filters_run_in_order_and_stop_at_a_denial(
    rig: Rig, servers: tuple[HttpAuth, GrpcAuth]
) -> None:
    http_auth, grpc_auth = servers
    h, g = len(http_auth.seen), len(grpc_auth.seen)
    r = _tenant(rig, "/ordered", Authorization="Bearer tenant-blue")
    assert r.status == 200
    assert [s.path for s in http_auth.seen[h:]] == ["/ordered"]
    assert [s.path for s in grpc_auth.seen[g:]] == ["/ordered"]
    # The first (HTTP) denies: its answer is the response; the second never runs.
    h, g = len(http_auth.seen), len(grpc_auth.seen)
    denied = _tenant(rig, "/stopped", Authorization="Bearer bad")
    assert denied.status == 403 and denied.body == b"denied by http auth"
    assert [s.path for s in http_auth.seen[h:]] == ["/stopped"]
    assert grpc_auth.seen[g:] == []


def test_listener_filters_cover_requests_no_route_takes(rig: Rig) -> None:
    # Not authenticated: denied before routing (not a 404 that would leak what exists).
    assert _tenant(rig, "/nothing-here").status == 403
    # Authenticated, but no route for the tenant: the usual 404.
    assert _tenant(rig, "/nothing-here", Authorization="Bearer tenant-red").status == 404
