"""CEL-level rules: for each rule a valid and an invalid object, and the reported field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from snapshots import parse

GW = "gateway.networking.k8s.io/v1"
CERT = {"certificateRefs": [{"name": "c"}]}


def errors_of(body: dict[str, Any]) -> list[str | None]:
    return [e.field for e in parse([body], "t").errors]


def gateway(*listeners: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": GW,
        "kind": "Gateway",
        "metadata": {"name": "g"},
        "spec": {"gatewayClassName": "c", "listeners": list(listeners), **spec},
    }


def http(**rule: Any) -> dict[str, Any]:
    return {
        "apiVersion": GW,
        "kind": "HTTPRoute",
        "metadata": {"name": "r"},
        "spec": {"rules": [rule]},
    }


def lst(name: str, port: int, protocol: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "port": port, "protocol": protocol, **extra}


REDIRECT = {"type": "RequestRedirect", "requestRedirect": {}}
REWRITE = {"type": "URLRewrite", "urlRewrite": {}}
PREFIX_REWRITE = {
    "type": "URLRewrite",
    "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/x"}},
}
BACKEND = {"name": "s", "port": 80}
MIRROR = {"backendRef": BACKEND}

CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    (
        "tls on HTTP",
        gateway(lst("a", 80, "HTTP")),
        gateway(lst("a", 80, "HTTP", tls=CERT)),
        "spec.listeners[0].tls",
    ),
    (
        "HTTPS needs Terminate",
        gateway(lst("a", 443, "HTTPS", tls=CERT)),
        gateway(lst("a", 443, "HTTPS", tls={"mode": "Passthrough"})),
        "spec.listeners[0].tls.mode",
    ),
    (
        "TLS needs tls",
        gateway(lst("a", 443, "TLS", tls={"mode": "Passthrough"})),
        gateway(lst("a", 443, "TLS")),
        "spec.listeners[0].tls",
    ),
    (
        "hostname on TCP",
        gateway(lst("a", 9000, "TCP")),
        gateway(lst("a", 9000, "TCP", hostname="x.example")),
        "spec.listeners[0].hostname",
    ),
    (
        "unique names",
        gateway(lst("a", 80, "HTTP"), lst("b", 81, "HTTP")),
        gateway(lst("a", 80, "HTTP"), lst("a", 81, "HTTP")),
        "spec.listeners[1].name",
    ),
    (
        "unique port/protocol/hostname",
        gateway(lst("a", 80, "HTTP"), lst("b", 80, "HTTP", hostname="x.example")),
        gateway(lst("a", 80, "HTTP"), lst("b", 80, "HTTP")),
        "spec.listeners[1]",
    ),
    (
        "Terminate needs certs",
        gateway(lst("a", 443, "HTTPS", tls={"options": {"k": "v"}})),
        gateway(lst("a", 443, "HTTPS", tls={})),
        "spec.listeners[0].tls",
    ),
    (
        "unique IP addresses",
        gateway(lst("a", 80, "HTTP"), addresses=[{"value": "1.1.1.1"}]),
        gateway(lst("a", 80, "HTTP"), addresses=[{"value": "1.1.1.1"}, {"value": "1.1.1.1"}]),
        "spec.addresses",
    ),
    (
        "path must start with /",
        http(matches=[{"path": {"value": "/a"}}]),
        http(matches=[{"path": {"value": "a"}}]),
        "spec.rules[0].matches[0].path.value",
    ),
    (
        "path no //",
        http(matches=[{"path": {"type": "Exact", "value": "/a/b"}}]),
        http(matches=[{"path": {"type": "Exact", "value": "/a//b"}}]),
        "spec.rules[0].matches[0].path.value",
    ),
    (
        "path no %2f",
        http(matches=[{"path": {"value": "/a%20"}}]),
        http(matches=[{"path": {"value": "/a%2fb"}}]),
        "spec.rules[0].matches[0].path.value",
    ),
    (
        "path no trailing /..",
        http(matches=[{"path": {"value": "/a/..b"}}]),
        http(matches=[{"path": {"value": "/a/.."}}]),
        "spec.rules[0].matches[0].path.value",
    ),
    (
        "regex path not checked",
        http(matches=[{"path": {"type": "RegularExpression", "value": "(["}}]),
        http(matches=[{"path": {"type": "Exact", "value": "(["}}]),
        "spec.rules[0].matches[0].path.value",
    ),
    (
        "filter once",
        http(filters=[{"type": "RequestMirror", "requestMirror": MIRROR}] * 2),
        http(filters=[REWRITE, REWRITE]),
        "spec.rules[0].filters[1]",
    ),
    (
        "redirect xor rewrite",
        http(filters=[REDIRECT]),
        http(filters=[REDIRECT, REWRITE]),
        "spec.rules[0].filters",
    ),
    (
        "redirect xor backendRefs",
        http(filters=[REDIRECT], backendRefs=[]),
        http(filters=[REDIRECT], backendRefs=[BACKEND]),
        "spec.rules[0]",
    ),
    (
        "ReplacePrefixMatch needs one PathPrefix",
        http(filters=[PREFIX_REWRITE]),
        http(filters=[PREFIX_REWRITE], matches=[{"path": {"type": "Exact", "value": "/a"}}]),
        "spec.rules[0]",
    ),
    (
        "filter member matches type",
        http(filters=[{"type": "RequestHeaderModifier", "requestHeaderModifier": {}}]),
        http(filters=[{"type": "RequestHeaderModifier"}]),
        "spec.rules[0].filters[0].requestHeaderModifier",
    ),
    (
        "backendRequest <= request",
        http(timeouts={"request": "0s", "backendRequest": "5s"}),
        http(timeouts={"request": "1s", "backendRequest": "1500ms"}),
        "spec.rules[0].timeouts",
    ),
    (
        "mirror percent xor fraction",
        http(filters=[{"type": "RequestMirror", "requestMirror": {**MIRROR, "percent": 5}}]),
        http(
            filters=[
                {
                    "type": "RequestMirror",
                    "requestMirror": {**MIRROR, "percent": 5, "fraction": {"numerator": 1}},
                }
            ]
        ),
        "spec.rules[0].filters[0].requestMirror",
    ),
    (
        "numerator <= denominator",
        http(
            filters=[
                {
                    "type": "RequestMirror",
                    "requestMirror": {**MIRROR, "fraction": {"numerator": 10, "denominator": 10}},
                }
            ]
        ),
        http(
            filters=[
                {
                    "type": "RequestMirror",
                    "requestMirror": {**MIRROR, "fraction": {"numerator": 11, "denominator": 10}},
                }
            ]
        ),
        "spec.rules[0].filters[0].requestMirror.fraction",
    ),
    (
        "Service backend needs port",
        http(backendRefs=[{"name": "x", "kind": "Other", "group": "a.b"}]),
        http(backendRefs=[{"name": "x"}]),
        "spec.rules[0].backendRefs[0].port",
    ),
    (
        "unique header match names",
        http(matches=[{"headers": [{"name": "a", "value": "1"}, {"name": "b", "value": "1"}]}]),
        http(matches=[{"headers": [{"name": "a", "value": "1"}, {"name": "a", "value": "2"}]}]),
        "spec.rules[0].matches[0].headers[1]",
    ),
    (
        "CORS * alone",
        http(filters=[{"type": "CORS", "cors": {"allowOrigins": ["*"]}}]),
        http(filters=[{"type": "CORS", "cors": {"allowOrigins": ["*", "https://a.b"]}}]),
        "spec.rules[0].filters[0].cors.allowOrigins",
    ),
    (
        "session persistence Permanent needs absoluteTimeout",
        http(
            sessionPersistence={
                "absoluteTimeout": "1h",
                "cookieConfig": {"lifetimeType": "Permanent"},
            }
        ),
        http(sessionPersistence={"cookieConfig": {"lifetimeType": "Permanent"}}),
        "spec.rules[0].sessionPersistence",
    ),
]


@pytest.mark.parametrize(("name", "valid", "invalid", "field"), CASES, ids=[c[0] for c in CASES])
def test_rule(name: str, valid: dict[str, Any], invalid: dict[str, Any], field: str) -> None:
    assert errors_of(valid) == []
    assert field in errors_of(invalid)


def route_with_parents(*refs: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": GW,
        "kind": "HTTPRoute",
        "metadata": {"name": "r"},
        "spec": {"parentRefs": list(refs)},
    }


def test_parent_refs_distinct() -> None:
    assert (
        errors_of(
            route_with_parents({"name": "g", "sectionName": "a"}, {"name": "g", "sectionName": "b"})
        )
        == []
    )
    assert errors_of(route_with_parents({"name": "g"}, {"name": "g", "sectionName": "b"})) == [
        "spec.parentRefs[1]"
    ]
    assert errors_of(
        route_with_parents({"name": "g", "sectionName": "a"}, {"name": "g", "sectionName": "a"})
    ) == ["spec.parentRefs[1]"]


def grpc(match: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": GW,
        "kind": "GRPCRoute",
        "metadata": {"name": "g"},
        "spec": {"rules": [{"matches": [match]}]},
    }


def test_grpc_method_match() -> None:
    assert errors_of(grpc({"method": {"service": "a.B", "method": "Do"}})) == []
    assert errors_of(grpc({"method": {"type": "RegularExpression", "service": "(.*"}})) == []
    assert errors_of(grpc({"method": {}})) == ["spec.rules[0].matches[0].method"]
    assert errors_of(grpc({"method": {"method": "a/b"}})) == [
        "spec.rules[0].matches[0].method.method"
    ]


def l4(kind: str, version: str = "v1", rules: int = 1, **spec: Any) -> dict[str, Any]:
    rule = {"backendRefs": [BACKEND]}
    return {
        "apiVersion": f"gateway.networking.k8s.io/{version}",
        "kind": kind,
        "metadata": {"name": "t"},
        "spec": {"rules": [copy.deepcopy(rule) for _ in range(rules)], **spec},
    }


def test_l4_rule_count_depends_on_version() -> None:
    assert errors_of(l4("TCPRoute")) == []
    assert errors_of(l4("TCPRoute", rules=2)) == ["spec.rules"]
    assert errors_of(l4("TCPRoute", version="v1alpha2", rules=2)) == []


def test_tlsroute_hostnames() -> None:
    assert errors_of(l4("TLSRoute", hostnames=["a.example"])) == []
    assert errors_of(l4("TLSRoute", hostnames=["1.2.3.4"])) == ["spec.hostnames[0]"]
    assert errors_of(l4("TLSRoute")) == ["spec.hostnames"]


def btp(validation: dict[str, Any], *targets: dict[str, Any]) -> dict[str, Any]:
    refs = list(targets) or [{"group": "", "kind": "Service", "name": "s"}]
    return {
        "apiVersion": GW,
        "kind": "BackendTLSPolicy",
        "metadata": {"name": "p"},
        "spec": {"targetRefs": refs, "validation": {"hostname": "a.example", **validation}},
    }


def test_backend_tls_policy() -> None:
    ca = {"caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": "ca"}]}
    assert errors_of(btp(ca)) == []
    assert errors_of(btp({"wellKnownCACertificates": "System"})) == []
    assert errors_of(btp({})) == ["spec.validation"]
    assert errors_of(btp({**ca, "wellKnownCACertificates": "System"})) == ["spec.validation"]
    san = {**ca, "subjectAltNames": [{"type": "URI", "hostname": "a.example"}]}
    assert "spec.validation.subjectAltNames[0]" in errors_of(btp(san))
    t = {"group": "", "kind": "Service", "name": "s"}
    assert errors_of(btp(ca, t, {**t, "sectionName": "p"})) == ["spec.targetRefs[1]"]


# --- Gateway API v1.7 ---------------------------------------------------------------------------

AUTH = {"protocol": "HTTP", "backendRef": BACKEND, "http": {}}


def test_listener_filters() -> None:
    ok = {"requests": [{"type": "ExternalAuth", "externalAuth": AUTH}]}
    assert errors_of(gateway(lst("a", 80, "HTTP", filters=ok))) == []
    assert errors_of(gateway(lst("a", 443, "HTTPS", tls=CERT, filters=ok))) == []
    # Only HTTP and HTTPS listeners take filters.
    tcp = gateway(lst("a", 9000, "TCP", filters=ok))
    assert errors_of(tcp) == ["spec.listeners[0].filters"]
    # The member named by `type`, and only it.
    wrong = {"requests": [{"type": "ExtensionRef", "externalAuth": AUTH}]}
    assert errors_of(gateway(lst("a", 80, "HTTP", filters=wrong))) == [
        "spec.listeners[0].filters.requests[0].externalAuth",
        "spec.listeners[0].filters.requests[0].extensionRef",
    ]
    # The ExternalAuth payload is checked as on a route.
    grpc_on_http = {"requests": [{"type": "ExternalAuth", "externalAuth": {**AUTH, "grpc": {}}}]}
    assert errors_of(gateway(lst("a", 80, "HTTP", filters=grpc_on_http))) == [
        "spec.listeners[0].filters.requests[0].externalAuth"
    ]
    too_many = {"requests": [{"type": "ExternalAuth", "externalAuth": AUTH}] * 17}
    assert errors_of(gateway(lst("a", 80, "HTTP", filters=too_many))) == [
        "spec.listeners[0].filters.requests"
    ]


def test_listener_set_listeners_take_filters() -> None:
    ls = {
        "apiVersion": GW,
        "kind": "ListenerSet",
        "metadata": {"name": "s"},
        "spec": {
            "parentRef": {"name": "g"},
            "listeners": [lst("a", 9000, "TCP", filters={"requests": []})],
        },
    }
    assert errors_of(ls) == ["spec.listeners[0].filters"]


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("", True),
        ("Cluster", True),
        ("testing.x-k8s.io/sentinel", True),
        ("example.com/CorpWan", True),
        ("Public", False),
        ("example.com/", False),
        ("Example.com/x", False),
        ("k8s.io/value", False),
        ("gateway.networking.k8s.io/value", False),
    ],
)
def test_address_routability(value: str, valid: bool) -> None:
    gw = gateway(lst("a", 80, "HTTP"), addresses=[{"type": "IPAddress", "routability": value}])
    assert errors_of(gw) == ([] if valid else ["spec.addresses[0].routability"])


def test_cluster_trust_bundle_refs_have_no_namespace() -> None:
    ctb = {"group": "certificates.k8s.io", "kind": "ClusterTrustBundle", "name": "b"}
    tls = {"frontend": {"default": {"validation": {"caCertificateRefs": [ctb]}}}}
    assert errors_of(gateway(lst("a", 80, "HTTP"), tls=tls)) == []
    bad = {
        "frontend": {"default": {"validation": {"caCertificateRefs": [{**ctb, "namespace": "x"}]}}}
    }
    assert errors_of(gateway(lst("a", 80, "HTTP"), tls=bad)) == [
        "spec.tls.frontend.default.validation.caCertificateRefs"
    ]


def test_retry_attempts_default_and_minimum() -> None:
    assert errors_of(http(retry={"attempts": 0})) == []
    assert errors_of(http(retry={"attempts": -1})) == ["spec.rules[0].retry.attempts"]
    (route,) = parse([http(retry={"codes": [500]})], "t").snapshot.http_routes
    retry = route.spec.rules[0].retry
    assert retry is not None and retry.attempts == 1


@pytest.mark.parametrize(
    ("session", "field"),
    [
        ({"cookie": {"name": "s"}}, None),
        ({"type": "Header", "header": {"name": "x-s"}}, None),
        ({"sessionName": "s", "cookieConfig": {"lifetimeType": "Session"}}, None),  # v1.6
        ({"type": "Header", "sessionName": "x-s"}, None),  # v1.6
        ({"type": "Header", "cookie": {}}, "spec.rules[0].sessionPersistence"),
        ({"header": {"name": "x"}}, "spec.rules[0].sessionPersistence"),
        ({"cookie": {"lifetimeType": "Permanent"}}, "spec.rules[0].sessionPersistence"),
        ({"sessionName": "s", "cookie": {}}, "spec.rules[0].sessionPersistence"),
        ({"type": "Header", "header": {}}, "spec.rules[0].sessionPersistence.header.name"),
    ],
)
def test_session_persistence(session: dict[str, Any], field: str | None) -> None:
    errors = errors_of(http(sessionPersistence=session, backendRefs=[BACKEND]))
    assert set(errors) == (set() if field is None else {field})


def test_no_port_on_an_xbackend_reference() -> None:
    ref = {"group": "gateway.networking.x-k8s.io", "kind": "XBackend", "name": "b"}
    assert errors_of(http(backendRefs=[ref])) == []
    assert errors_of(http(backendRefs=[{**ref, "port": 80}])) == [
        "spec.rules[0].backendRefs[0].port"
    ]


def xbackend(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.x-k8s.io/v1alpha1",
        "kind": "XBackend",
        "metadata": {"name": "b"},
        "spec": {"port": {"number": 8443}, **spec},
    }


SELECT = {"type": "EndpointSelector", "endpointSelector": {"matchLabels": {"app": "x"}}}
SERVER_TLS = {
    "mode": "ServerOnly",
    "validation": {"hostname": "a.example", "wellKnownCACertificates": "System"},
}


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        (SELECT, []),
        ({"type": "ExternalHostname", "externalHostname": {"hostname": "api.example.com"}}, []),
        ({"type": "EndpointSelector"}, ["spec.endpointSelector"]),
        ({**SELECT, "externalHostname": {"hostname": "a.example"}}, ["spec.externalHostname"]),
        ({**SELECT, "protocol": "WSS"}, ["spec.tls"]),
        ({**SELECT, "protocol": "WSS", "tls": SERVER_TLS}, []),
        ({**SELECT, "protocol": "HTTP2"}, ["spec.tls"]),
        ({**SELECT, "protocol": "H2C", "tls": SERVER_TLS}, ["spec.tls"]),
        ({**SELECT, "tls": {"mode": "ServerOnly"}}, ["spec.tls"]),
        (
            {**SELECT, "tls": {"mode": "ClientAndServer", "validation": SERVER_TLS["validation"]}},
            ["spec.tls"],
        ),
        ({**SELECT, "sessionPersistence": {"cookie": {}}}, []),
        (
            {
                "type": "ExternalHostname",
                "externalHostname": {"hostname": "a.example"},
                "sessionPersistence": {"cookie": {}},
            },
            ["spec.sessionPersistence"],
        ),
        (
            {"type": "ExternalHostname", "externalHostname": {"hostname": "svc.cluster.local"}},
            ["spec.externalHostname.hostname"],
        ),
        (
            {**SELECT, "endpointSelector": {"matchLabels": {"-bad": "x"}}},
            ["spec.endpointSelector.matchLabels[-bad]"],
        ),
        (
            {**SELECT, "endpointSelector": {"matchLabels": {}}},
            ["spec.endpointSelector.matchLabels"],
        ),
    ],
)
def test_xbackend(spec: dict[str, Any], fields: list[str]) -> None:
    assert errors_of(xbackend(**spec)) == fields


def test_xbackend_of_gateway_api_v1_6_still_loads() -> None:
    """v1.6: no `type` (external hostnames only), the port as `port.port`."""
    v16 = xbackend(externalHostname={"hostname": "api.example.com"})
    v16["spec"]["port"] = {"port": 443, "name": "https"}
    assert errors_of(v16) == []
    both = xbackend(**SELECT)
    both["spec"]["port"] = {"port": 443, "number": 443}
    assert errors_of(both) == ["spec.port"]
