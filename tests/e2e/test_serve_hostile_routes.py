"""Routes with values Envoy refuses, or that would forge headers, never reach Envoy: through
a real Envoy, the injected header never appears on the wire, the port keeps taking updates,
and readiness stays up (issue 13, findings 2 and 5)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from e2e.echo import EchoPool
from e2e.harness import Hatchway, free_port, http_request, wait_for, write_yaml
from manifests import (
    backend,
    gateway_class,
    http_gateway,
    http_route,
    parent,
    prefix,
    route,
    service,
)

pytestmark = pytest.mark.e2e

COOKIE_PATH = "/c;Max-Age=999999999;SameSite=None"


def _rule(match: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"matches": [match], "backendRefs": [backend("blue")], **extra}


def _route(name: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return route("HTTPRoute", name, [parent("demo")], list(rules))


def _accepted(hw: Hatchway, name: str) -> dict[str, Any]:
    resources = hw.admin("/status").json()["resources"]
    route = next(r for r in resources if r["kind"] == "HTTPRoute" and r["metadata"]["name"] == name)
    return {c["type"]: c for c in route["status"]["parents"][0]["conditions"]}["Accepted"]


def _setup(tmp_path: Path, echo_pool: EchoPool) -> tuple[Path, int]:
    blue = echo_pool.servers.get("blue") or echo_pool.start("blue")
    config = tmp_path / "config"
    config.mkdir()
    port = free_port()
    write_yaml(config / "gateway.yaml", [gateway_class(), http_gateway("demo", port)])
    write_yaml(config / "services.yaml", service("blue", blue.port))
    write_yaml(config / "app.yaml", [http_route("app", "demo", [("/blue", "blue")])])
    return config, port


def test_session_names_and_cookie_paths_never_split_the_response(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Callable[..., Hatchway]
) -> None:
    config, port = _setup(tmp_path, echo_pool)
    write_yaml(
        config / "sessions.yaml",
        [
            _route(
                "cookie-crlf",
                _rule(prefix("/crlf"), sessionPersistence={"sessionName": "s\r\nx-injected: 1"}),
            ),
            _route(
                "header-crlf",
                _rule(
                    prefix("/hcrlf"),
                    sessionPersistence={"type": "Header", "sessionName": "x-s\r\nx-injected: 1"},
                ),
            ),
            _route(
                "cookie-path",
                _rule(
                    {"path": {"type": "Exact", "value": COOKIE_PATH}},
                    sessionPersistence={"sessionName": "sess"},
                ),
            ),
        ],
    )
    hw = hatchway_factory(config)
    for path in ("/crlf", "/hcrlf", "/blue", COOKIE_PATH):
        r = http_request(port, path)
        assert "x-injected" not in r.headers, (path, r.headers)
        assert "x-injected" not in r.headers.get("set-cookie", ""), (path, r.headers)
    # Refused in validation, naming the field; the rest of the port serves.
    for name in ("cookie-crlf", "header-crlf"):
        accepted = _accepted(hw, name)
        assert (accepted["status"], accepted["reason"]) == ("False", "UnsupportedValue")
        assert "spec.rules[0].sessionPersistence.sessionName" in accepted["message"]
    assert http_request(port, "/crlf").status == 404
    # The Exact path is a fine path, but not a cookie Path: the cookie is scoped to its
    # directory, and `;Max-Age=…` never becomes an attribute.
    r = http_request(port, COOKIE_PATH)
    assert r.status == 200
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("sess=") and "Path=/;" in cookie + ";", cookie
    assert "Max-Age" not in cookie and "SameSite" not in cookie, cookie
    assert hw.readyz().status == 200


def _fqdn_slice() -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "blue-fqdn", "labels": {"kubernetes.io/service-name": "blue"}},
        "addressType": "FQDN",
        "ports": [{"name": "http", "port": 80}],
        "endpoints": [{"addresses": ["backend.example.com"]}],
    }


def test_values_envoy_refuses_never_freeze_the_port_or_readiness(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Callable[..., Hatchway]
) -> None:
    config, port = _setup(tmp_path, echo_pool)
    hw = hatchway_factory(config)
    header = {"type": "RequestHeaderModifier", "requestHeaderModifier": {"remove": ["host"]}}
    write_yaml(
        config / "bad.yaml",
        [
            _route("remove-host", _rule(prefix("/rh"), filters=[header])),
            _route(
                "set-host",
                _rule(
                    prefix("/sh"),
                    filters=[
                        {
                            "type": "RequestHeaderModifier",
                            "requestHeaderModifier": {"set": [{"name": "Host", "value": "x"}]},
                        }
                    ],
                ),
            ),
            _route(
                "crlf-rewrite",
                _rule(
                    prefix("/rw"),
                    filters=[
                        {
                            "type": "URLRewrite",
                            "urlRewrite": {
                                "path": {"type": "ReplaceFullPath", "replaceFullPath": "/a\r\nb"}
                            },
                        }
                    ],
                ),
            ),
            _route(
                "nested-regex",
                _rule({"path": {"type": "RegularExpression", "value": "/(a{1000}){1000}"}}),
            ),
            _fqdn_slice(),
        ],
    )
    # An unrelated new route on the same port goes live...
    write_yaml(config / "new.yaml", [http_route("new", "demo", [("/new", "blue")])])
    wait_for(lambda: http_request(port, "/new").status == 200 or None, 15, "/new served")
    # ...readiness stays up, and each refused route says which field, in status.
    ready = hw.wait_ready()
    assert ready["ready"] is True, ready
    for name, field in (
        ("remove-host", "requestHeaderModifier.remove[0]"),
        ("set-host", "requestHeaderModifier.set[0].name"),
        ("crlf-rewrite", "urlRewrite.path.replaceFullPath"),
        ("nested-regex", "matches[0].path.value"),
    ):
        accepted = _accepted(hw, name)
        assert (accepted["status"], accepted["reason"]) == ("False", "UnsupportedValue"), name
        assert field in accepted["message"], accepted
    warnings = hw.admin("/status").json()["warnings"]
    assert any(w["object"] == "EndpointSlice/default/blue-fqdn" for w in warnings), warnings
    assert http_request(port, "/blue").status == 200
    assert http_request(port, "/rh").status == 404
