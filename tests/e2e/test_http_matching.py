"""HTTPRoute matching through a real Envoy: every match type, precedence, hostnames, isolation.

One gateway for the module; each test owns a hostname, so routes never interfere. Backends
`b1`…`b8` are echo servers: the one that answers names the rule that won.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.echo import EchoPool
from e2e.harness import free_port
from e2e.rig import Rig, echo, route, running_rig, svc
from manifests import Doc, listener, prefix, to

pytestmark = pytest.mark.e2e

BACKENDS = [f"b{i}" for i in range(1, 9)]
PORT_ONLY = free_port()  # a second HTTP listener, the only parent of route `port-bound`


def rule(backend: str, *matches: Doc) -> Doc:
    out: Doc = {"backendRefs": to(backend)}
    if matches:
        out["matches"] = list(matches)
    return out


def routes() -> list[Doc]:
    return [
        route(
            "paths",
            [
                rule("b1", {"path": {"type": "Exact", "value": "/exact"}}),
                rule("b2", prefix("/foo")),
                rule("b3", prefix("/trail/")),
                rule("b4", {"path": {"type": "RegularExpression", "value": "/re/[0-9]+"}}),
                rule("b5", prefix("/")),
            ],
            hostnames=["path.example"],
        ),
        route(
            "headers",
            [
                rule("b1", {"headers": [{"name": "X-Env", "value": "prod"}]}),
                rule(
                    "b2",
                    {
                        "headers": [
                            {"type": "RegularExpression", "name": "x-version", "value": "v[0-9]+"}
                        ]
                    },
                ),
                rule("b5"),
            ],
            hostnames=["headers.example"],
        ),
        route(
            "query",
            [
                rule("b1", {"queryParams": [{"name": "animal", "value": "whale"}]}),
                rule(
                    "b2",
                    {
                        "queryParams": [
                            {"type": "RegularExpression", "name": "id", "value": "[0-9]+"}
                        ]
                    },
                ),
                rule("b5"),
            ],
            hostnames=["query.example"],
        ),
        route(
            "method",
            [rule("b1", {"method": "POST"}), rule("b5")],
            hostnames=["method.example"],
        ),
        # Precedence within one route (spec-semantics §4.2 worked examples).
        route(
            "precedence",
            [
                rule("b1", prefix("/path5")),
                rule("b2", {"method": "PATCH"}),
                rule("b3", {"headers": [{"name": "version", "value": "four"}]}),
                rule("b4", {"queryParams": [{"name": "animal", "value": "hydra"}]}),
                rule("b5", {"headers": [{"name": "x-a", "value": "1"}]}),
                rule("b6", {"headers": [{"name": "x-b", "value": "1"}]}),
                rule("b8", {"headers": [{"name": "x-c", "value": "1"}]}),
                rule(
                    "b7",
                    {"headers": [{"name": "x-c", "value": "1"}, {"name": "x-d", "value": "1"}]},
                ),
                rule("b3", prefix("/deep")),
                rule("b4", prefix("/deep/er")),
                rule("b5", {"path": {"type": "Exact", "value": "/deep/er/x"}}),
            ],
            hostnames=["prec.example"],
        ),
        # Across routes: the route with the more specific hostname wins before any path rule.
        route("across-wild", [rule("b1", prefix("/v2/long"))], hostnames=["*.across.example"]),
        route("across-exact", [rule("b2", prefix("/"))], hostnames=["a.across.example"]),
        # Oldest route wins a tie; then namespace/name order.
        route("zz-old", [rule("b1")], ["age.example"], created="2020-01-01T00:00:00Z"),
        route("aa-new", [rule("b2")], ["age.example"], created="2024-01-01T00:00:00Z"),
        route("byname-b", [rule("b2")], ["name.example"], created="2022-01-01T00:00:00Z"),
        route("byname-a", [rule("b1")], ["name.example"], created="2022-01-01T00:00:00Z"),
        # Hostname wildcards on the route.
        route("wild", [rule("b3")], hostnames=["*.wc.example"]),
        # parentRef port: only the listener on that port.
        route("port-bound", [rule("b4")], ["port.example"], port=PORT_ONLY),
        # Listener isolation: three listeners on one port.
        # (It covers `*.iso.example` too, but those hosts belong to more specific listeners.)
        route("iso-any", [rule("b1")], ["iso.example", "*.iso.example"], section="http"),
        route("iso-wild", [rule("b2", prefix("/wild"))], section="wild"),
        route("iso-exact", [rule("b3", prefix("/exact"))], section="exact"),
    ]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, echo_pool: EchoPool) -> Iterator[Rig]:
    services = [doc for b in BACKENDS for doc in svc(b, echo(echo_pool, b))]
    listeners = [
        listener("http"),
        listener("wild", hostname="*.iso.example"),
        listener("exact", hostname="a.iso.example"),
        listener("second", port=PORT_ONLY),
    ]
    tmp: Path = tmp_path_factory.mktemp("matching")
    with running_rig(tmp, routes(), services, listeners) as r:
        yield r


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/exact", "b1"),
        ("/exact?x=1", "b1"),  # the query is not part of the path
        ("/exact/", "b5"),  # Exact is byte-equal
        ("/Exact", "b5"),  # and case-sensitive
        ("/exactly", "b5"),
        ("/foo", "b2"),
        ("/foo/", "b2"),
        ("/foo/bar", "b2"),
        ("/foobar", "b5"),  # element-wise prefix
        ("/Foo", "b5"),
        ("/trail", "b3"),  # the trailing `/` of the match value is ignored
        ("/trail/", "b3"),
        ("/trail/x", "b3"),
        ("/trailx", "b5"),
        ("/re/123", "b4"),
        ("/re/12a", "b5"),  # RE2 full match, not search
        ("/re/123/x", "b5"),
    ],
)
def test_path_match(rig: Rig, path: str, expected: str) -> None:
    assert rig.backend(path, "path.example") == expected


def test_path_and_query_forwarded_verbatim(rig: Rig) -> None:
    body = rig.request("/foo/bar?b=2&a=1&a=3", "path.example").json()
    assert body["path"] == "/foo/bar?b=2&a=1&a=3"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-ENV": "prod"}, "b1"),  # header names are case-insensitive
        ({"x-env": "Prod"}, "b5"),  # values are not
        ({"x-env": "production"}, "b5"),
        ({"x-version": "v12"}, "b2"),
        ({"x-version": "v12x"}, "b5"),  # regex is a full match
        ({}, "b5"),
    ],
)
def test_header_match(rig: Rig, headers: dict[str, str], expected: str) -> None:
    assert rig.backend("/", "headers.example", headers=headers) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("animal=whale", "b1"),
        ("color=red&animal=whale", "b1"),
        ("animal=whale&animal=shark", "b1"),  # repeated: the first value counts
        ("animal=shark&animal=whale", "b5"),
        ("ANIMAL=whale", "b5"),  # names are case-sensitive
        ("animal=Whale", "b5"),  # and values
        ("id=42", "b2"),
        ("id=4x", "b5"),
        ("", "b5"),
    ],
)
def test_query_match(rig: Rig, query: str, expected: str) -> None:
    assert rig.backend(f"/?{query}", "query.example") == expected


@pytest.mark.parametrize(("method", "expected"), [("POST", "b1"), ("GET", "b5"), ("PUT", "b5")])
def test_method_match(rig: Rig, method: str, expected: str) -> None:
    assert rig.backend("/", "method.example", method=method) == expected


@pytest.mark.parametrize(
    ("method", "path", "headers", "expected"),
    [
        ("PATCH", "/path5", {}, "b1"),  # a path prefix beats a method
        ("PATCH", "/", {"version": "four"}, "b2"),  # a method beats a header
        ("GET", "/?animal=hydra", {"version": "four"}, "b3"),  # a header beats a query param
        ("GET", "/?animal=hydra", {}, "b4"),
        ("GET", "/", {"x-a": "1", "x-b": "1"}, "b5"),  # a tie: the earlier rule
        ("GET", "/", {"x-c": "1", "x-d": "1"}, "b7"),  # two headers beat one (listed earlier)
        ("GET", "/", {"x-c": "1"}, "b8"),
        ("GET", "/deep/x", {}, "b3"),
        ("GET", "/deep/er/y", {}, "b4"),  # the longer prefix, though listed later
        ("GET", "/deep/er/x", {}, "b5"),  # Exact beats any prefix
        ("GET", "/nothing", {}, None),  # no rule matches: 404 from the gateway
    ],
)
def test_precedence(
    rig: Rig, method: str, path: str, headers: dict[str, str], expected: str | None
) -> None:
    r = rig.request(path, "prec.example", method=method, headers=headers)
    assert r.headers.get("x-echo-backend") == expected
    if expected is None:
        assert r.status == 404


def test_hostname_specificity_beats_path_length(rig: Rig) -> None:
    assert rig.backend("/v2/long", "a.across.example") == "b2"
    assert rig.backend("/v2/long", "b.across.example") == "b1"
    assert rig.request("/other", "b.across.example").status == 404


def test_oldest_route_then_name_wins(rig: Rig) -> None:
    assert rig.backend("/", "age.example") == "b1"
    assert rig.backend("/", "name.example") == "b1"


@pytest.mark.parametrize(
    ("host", "expected"),
    [("a.wc.example", "b3"), ("a.b.wc.example", "b3"), ("wc.example", None), ("awc.example", None)],
)
def test_wildcard_route_hostname(rig: Rig, host: str, expected: str | None) -> None:
    assert rig.backend("/", host) == expected


def test_port_in_host_ignored_and_host_forwarded_unchanged(rig: Rig) -> None:
    r = rig.request("/foo", "path.example:1234")
    assert r.headers["x-echo-backend"] == "b2"
    assert r.json()["host"] == "path.example:1234"
    assert rig.backend("/foo", "PATH.Example") == "b2"  # hostnames are case-insensitive


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        ("a.iso.example", "/exact", "b3"),
        ("a.iso.example", "/wild", None),  # the exact listener is chosen: no fall-through
        ("a.iso.example", "/", None),  # nor to the catch-all listener's route
        ("b.iso.example", "/wild", "b2"),
        ("x.b.iso.example", "/wild", "b2"),
        ("b.iso.example", "/exact", None),
        ("b.iso.example", "/", None),
        ("iso.example", "/", "b1"),  # not covered by `*.iso.example`: the catch-all
        ("iso.example", "/wild", "b1"),
    ],
)
def test_listener_isolation(rig: Rig, host: str, path: str, expected: str | None) -> None:
    r = rig.request(path, host)
    assert r.headers.get("x-echo-backend") == expected, r.body[:200]
    if expected is None:
        assert r.status == 404


def test_parent_ref_port(rig: Rig) -> None:
    assert rig.backend("/", "port.example", port=PORT_ONLY) == "b4"
    assert rig.request("/", "port.example").status == 404  # not on the other port
