"""HTTPRoute filters through a real Envoy: redirects, rewrites, header modifiers (rule and
backend level), request mirrors, CORS."""

from __future__ import annotations

import http.client
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.echo import EchoPool
from e2e.harness import wait_for
from e2e.rig import RecordingEcho, Rig, echo, recording_echo, route, running_rig, svc
from manifests import Doc, prefix, to

pytestmark = pytest.mark.e2e


def redirect(match: str, /, **fields: object) -> Doc:
    return {
        "matches": [prefix(match)],
        "filters": [{"type": "RequestRedirect", "requestRedirect": fields}],
    }


def rewrite(match: str, /, **fields: object) -> Doc:
    return {
        "matches": [prefix(match)],
        "filters": [{"type": "URLRewrite", "urlRewrite": fields}],
        "backendRefs": to("b1"),
    }


def backend_rewrite(name: str, path: Doc, hostname: str | None = None) -> list[Doc]:
    """A backendRef with its own URLRewrite (HTTPRouteBackendURLRewrite)."""
    fields: Doc = {"path": path}
    if hostname is not None:
        fields["hostname"] = hostname
    return to(name, filters=[{"type": "URLRewrite", "urlRewrite": fields}])


def prefix_mod(value: str) -> Doc:
    return {"type": "ReplacePrefixMatch", "replacePrefixMatch": value}


def full_mod(value: str) -> Doc:
    return {"type": "ReplaceFullPath", "replaceFullPath": value}


# (match prefix, replacement) per host `rwpN.example`: the spec's ReplacePrefixMatch table.
PREFIX_REWRITES = [
    ("/foo", "/xyz"),
    ("/foo", "/xyz/"),
    ("/foo/", "/xyz"),
    ("/foo/", "/xyz/"),
    ("/foo", ""),
    ("/foo", "/"),
    ("/", "/xyz"),
]


def mirror(backend: str, **extra: object) -> Doc:
    return {
        "type": "RequestMirror",
        "requestMirror": {"backendRef": {"name": backend, "port": 80}, **extra},
    }


def cors(**fields: object) -> Doc:
    return {"type": "CORS", "cors": fields}


def routes() -> list[Doc]:
    rules_redirect = [
        redirect("/plain"),
        redirect("/host", hostname="other.example"),
        *[redirect(f"/status{c}", statusCode=c) for c in (301, 302, 303, 307, 308)],
        redirect("/https", scheme="https"),
        redirect("/https-8443", scheme="https", port=8443),
        redirect("/https-443", scheme="https", port=443),
        redirect("/http-80", scheme="http", port=80),
        redirect("/port-8080", port=8080),
        redirect("/full", path=full_mod("/new")),
        redirect("/pre", path=prefix_mod("/np")),
        redirect("/strip", path=prefix_mod("/")),
        redirect(
            "/all",
            scheme="https",
            hostname="all.example",
            port=8443,
            statusCode=301,
            path=full_mod("/moved"),
        ),
    ]
    return [
        route("redirects", rules_redirect, hostnames=["redirect.example"]),
        route("wild-redirect", [redirect("/", scheme="https")], hostnames=["*.wredirect.example"]),
        route(
            "rewrites",
            [
                rewrite("/host", hostname="rewritten.example"),
                rewrite("/full", path=full_mod("/one")),
                rewrite("/both", hostname="both.example", path=full_mod("/two")),
            ],
            hostnames=["rewrite.example"],
        ),
        *[
            route(f"rwp{i}", [rewrite(p, path=prefix_mod(r))], hostnames=[f"rwp{i}.example"])
            for i, (p, r) in enumerate(PREFIX_REWRITES)
        ],
        route(
            "backend-rewrites",
            [
                {
                    "matches": [prefix("/full")],
                    "backendRefs": backend_rewrite("b1", full_mod("/f")),
                },
                {
                    "matches": [prefix("/prefix")],
                    "backendRefs": backend_rewrite("b1", prefix_mod("/p")),
                },
                {
                    "matches": [prefix("/split")],
                    "backendRefs": [
                        *backend_rewrite("b1", full_mod("/s"), "one.example"),
                        *backend_rewrite("b2", full_mod("/s"), "two.example"),
                    ],
                },
            ],
            hostnames=["brewrite.example"],
        ),
        route(
            "headers",
            [
                {
                    "filters": [
                        {
                            "type": "RequestHeaderModifier",
                            "requestHeaderModifier": {
                                "set": [{"name": "X-Header-Set", "value": "set-overwrites"}],
                                "add": [{"name": "X-Header-Add", "value": "add-appends"}],
                                "remove": ["X-Header-Remove"],
                            },
                        },
                        {
                            "type": "ResponseHeaderModifier",
                            "responseHeaderModifier": {
                                "set": [{"name": "X-Resp-Set", "value": "new"}],
                                "add": [{"name": "X-Resp-Add", "value": "added"}],
                                "remove": ["X-Resp-Remove"],
                            },
                        },
                    ],
                    "backendRefs": to("b1"),
                }
            ],
            hostnames=["headers.example"],
        ),
        route(
            "backend-filters",
            [
                {
                    "backendRefs": [
                        {
                            "name": b,
                            "port": 80,
                            "filters": [
                                {
                                    "type": "RequestHeaderModifier",
                                    "requestHeaderModifier": {
                                        "set": [{"name": "x-chosen", "value": b}]
                                    },
                                },
                                {
                                    "type": "ResponseHeaderModifier",
                                    "responseHeaderModifier": {
                                        "add": [{"name": "x-chosen-resp", "value": b}]
                                    },
                                },
                            ],
                        }
                        for b in ("b1", "b2")
                    ]
                }
            ],
            hostnames=["bfilters.example"],
        ),
        route(
            "mirrors",
            [
                {"matches": [prefix("/one")], "filters": [mirror("m1")], "backendRefs": to("b1")},
                {
                    "matches": [prefix("/several")],
                    "filters": [mirror("m2"), mirror("m3")],
                    "backendRefs": to("b1"),
                },
                {
                    "matches": [prefix("/percent")],
                    "filters": [mirror("m4", percent=50)],
                    "backendRefs": to("b1"),
                },
                {
                    "matches": [prefix("/fraction")],
                    "filters": [mirror("m5", fraction={"numerator": 1, "denominator": 4})],
                    "backendRefs": to("b1"),
                },
            ],
            hostnames=["mirror.example"],
        ),
        route(
            "extension",
            [
                {
                    "matches": [prefix("/extended")],
                    "filters": [
                        {
                            "type": "ExtensionRef",
                            "extensionRef": {"group": "x.example", "kind": "Magic", "name": "m"},
                        }
                    ],
                    "backendRefs": to("b1"),
                },
                {"backendRefs": to("b1")},
            ],
            hostnames=["extension.example"],
        ),
        route(
            "nulls",  # explicit nulls, as templating writes them: the fields left out
            [
                {
                    "matches": [{"path": {"type": None, "value": "/"}, "headers": None}],
                    "filters": [
                        {
                            "type": "RequestHeaderModifier",
                            "requestHeaderModifier": {
                                "add": None,
                                "set": [{"name": "x-from-nulls", "value": "yes"}],
                                "remove": None,
                            },
                        }
                    ],
                    "backendRefs": to("b1", group=None, kind=None, weight=None),
                    "timeouts": None,
                }
            ],
            hostnames=["nulls.example"],
        ),
        route(
            "cors",
            [
                {
                    "matches": [prefix("/cors-1")],
                    "filters": [
                        cors(
                            allowOrigins=["https://www.foo.com", "https://*.bar.com"],
                            allowMethods=["GET", "OPTIONS"],
                            allowHeaders=["x-header-1", "x-header-2"],
                            exposeHeaders=["x-header-3", "x-header-4"],
                            allowCredentials=True,
                            maxAge=3600,
                        )
                    ],
                    "backendRefs": to("b1"),
                },
                {
                    "matches": [prefix("/cors-wild")],
                    "filters": [
                        cors(
                            allowOrigins=["*"],
                            allowMethods=["*"],
                            allowHeaders=["*"],
                            allowCredentials=True,
                        )
                    ],
                    "backendRefs": to("b1"),
                },
                {
                    "matches": [prefix("/cors-wild-unauth")],
                    "filters": [cors(allowOrigins=["*"], allowMethods=["PUT"])],
                    "backendRefs": to("b1"),
                },
            ],
            hostnames=["cors.example"],
        ),
    ]


@pytest.fixture(scope="module")
def mirrors(echo_pool: EchoPool) -> dict[str, RecordingEcho]:
    return {m: recording_echo(echo_pool, f"mirror-{m}") for m in ("m1", "m2", "m3", "m4", "m5")}


@pytest.fixture(scope="module")
def rig(
    tmp_path_factory: pytest.TempPathFactory,
    echo_pool: EchoPool,
    mirrors: dict[str, RecordingEcho],
) -> Iterator[Rig]:
    services = [*svc("b1", echo(echo_pool, "b1")), *svc("b2", echo(echo_pool, "b2"))]
    services += [doc for name, server in mirrors.items() for doc in svc(name, server)]
    tmp: Path = tmp_path_factory.mktemp("filters")
    with running_rig(tmp, routes(), services, extra_listener_ports=1) as r:
        yield r


# --- redirects ----------------------------------------------------------------------------------


def location(
    rig: Rig, path: str, port: int | None = None, host: str = "redirect.example"
) -> tuple[int, str]:
    r = rig.request(path, host, port=port or rig.port)
    assert "x-echo-backend" not in r.headers  # the gateway answers redirects itself
    return r.status, r.headers.get("location", "")


def test_redirect_defaults_keep_the_listener_port(rig: Rig) -> None:
    assert location(rig, "/plain/x?a=1") == (302, f"http://redirect.example:{rig.port}/plain/x?a=1")
    # The same route on a second listener port: that listener's port.
    other = rig.extra_ports[0]
    assert location(rig, "/plain", other) == (302, f"http://redirect.example:{other}/plain")


def test_redirect_hostname(rig: Rig) -> None:
    assert location(rig, "/host/a") == (302, f"http://other.example:{rig.port}/host/a")


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirect_status_codes(rig: Rig, code: int) -> None:
    assert location(rig, f"/status{code}") == (
        code,
        f"http://redirect.example:{rig.port}/status{code}",
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/https", "https://redirect.example/https"),  # scheme set: its well-known port, omitted
        ("/https-8443", "https://redirect.example:8443/https-8443"),
        ("/https-443", "https://redirect.example/https-443"),
        ("/http-80", "http://redirect.example/http-80"),
        ("/port-8080", "http://redirect.example:8080/port-8080"),
    ],
)
def test_redirect_scheme_and_port(rig: Rig, path: str, expected: str) -> None:
    assert location(rig, path) == (302, expected)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/full", "/new"),
        ("/full/deep?q=1", "/new?q=1"),
        ("/pre", "/np"),
        ("/pre/a/b", "/np/a/b"),
        ("/pre/", "/np/"),
        ("/strip/three", "/three"),  # no `//`
        ("/strip", "/"),
    ],
)
def test_redirect_path(rig: Rig, path: str, expected: str) -> None:
    assert location(rig, path) == (302, f"http://redirect.example:{rig.port}{expected}")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/https", "https://redirect.example/https"),
        ("/http-80", "http://redirect.example/http-80"),
        ("/plain", "http://redirect.example:{port}/plain"),  # the listener's port
        ("/host", "http://other.example:{port}/host"),
        ("/port-8080", "http://redirect.example:8080/port-8080"),
    ],
)
def test_redirect_ignores_the_port_in_host(rig: Rig, path: str, expected: str) -> None:
    """The client's `Host: name:port` never leaks into Location: `http://h:8080` redirected to
    https must not point at `https://h:8080`."""
    got = location(rig, path, host="redirect.example:1234")
    assert got == (302, expected.format(port=rig.port))


def test_redirect_under_a_wildcard_hostname(rig: Rig) -> None:
    assert location(rig, "/x", host="a.wredirect.example") == (302, "https://a.wredirect.example/x")
    # With a port in Host, Envoy can only replace it by stating the default port explicitly.
    assert location(rig, "/x", host="a.wredirect.example:1234") == (
        302,
        "https://a.wredirect.example:443/x",
    )


def test_redirect_everything(rig: Rig) -> None:
    assert location(rig, "/all/x") == (301, "https://all.example:8443/moved")


# --- rewrites -----------------------------------------------------------------------------------


def test_rewrite_hostname(rig: Rig) -> None:
    body = rig.request("/host/x?y=1", "rewrite.example").json()
    assert body["host"] == "rewritten.example"
    assert body["path"] == "/host/x?y=1"


def test_rewrite_full_path_keeps_query(rig: Rig) -> None:
    assert rig.request("/full/a/b?x=1&y=2", "rewrite.example").json()["path"] == "/one?x=1&y=2"
    both = rig.request("/both/z", "rewrite.example").json()
    assert (both["host"], both["path"]) == ("both.example", "/two")


@pytest.mark.parametrize(
    ("case", "path", "expected"),
    [
        (0, "/foo/bar", "/xyz/bar"),
        (1, "/foo/bar", "/xyz/bar"),
        (2, "/foo/bar", "/xyz/bar"),
        (3, "/foo/bar", "/xyz/bar"),
        (0, "/foo", "/xyz"),
        (0, "/foo/", "/xyz/"),
        (0, "/foo/bar?q=1", "/xyz/bar?q=1"),
        (4, "/foo/bar", "/bar"),
        (4, "/foo/", "/"),
        (4, "/foo", "/"),
        (5, "/foo/", "/"),
        (5, "/foo", "/"),
        (5, "/foo/three", "/three"),
        (5, "/foo/three?q=1", "/three?q=1"),
        (6, "/a/b", "/xyz/a/b"),
        (6, "/", "/xyz/"),
    ],
)
def test_rewrite_prefix_table(rig: Rig, case: int, path: str, expected: str) -> None:
    r = rig.request(path, f"rwp{case}.example")
    assert r.status == 200, (PREFIX_REWRITES[case], r.status)
    assert r.json()["path"] == expected, PREFIX_REWRITES[case]


# --- header modifiers ---------------------------------------------------------------------------


def test_backend_level_url_rewrite(rig: Rig) -> None:
    """URLRewrite on a backendRef (v1.7): the path as the rule's own rewrite would do it, and
    each backend's hostname when a rule splits traffic."""
    assert rig.request("/full/original?q=1", "brewrite.example").json()["path"] == "/f?q=1"
    assert rig.request("/prefix/original", "brewrite.example").json()["path"] == "/p/original"
    seen: Counter[str] = Counter()
    for _ in range(30):
        body = rig.request("/split/x", "brewrite.example").json()
        assert body["path"] == "/s"
        assert body["host"] == {"b1": "one.example", "b2": "two.example"}[body["backend"]]
        seen[body["backend"]] += 1
    assert set(seen) == {"b1", "b2"}


def test_request_header_modifier(rig: Rig) -> None:
    r = rig.request(
        "/",
        "headers.example",
        headers={
            "x-header-set": "original",
            "x-header-add": "some-other-value",
            "X-HEADER-REMOVE": "gone",
            "x-other": "kept",
        },
    )
    got = r.json()["headers"]
    assert got["x-header-set"] == ["set-overwrites"]
    assert ",".join(got["x-header-add"]) == "some-other-value,add-appends"
    assert "x-header-remove" not in got
    assert got["x-other"] == ["kept"]
    # add without an existing value just adds it
    plain = rig.request("/", "headers.example").json()["headers"]
    assert plain["x-header-add"] == ["add-appends"] and plain["x-header-set"] == ["set-overwrites"]


def test_explicit_nulls_are_the_fields_left_out(rig: Rig) -> None:
    r = rig.request("/any", "nulls.example")
    assert r.status == 200
    assert r.json()["headers"]["x-from-nulls"] == ["yes"]


def test_response_header_modifier(rig: Rig) -> None:
    # The echo backend adds one response header per `x-echo-set-header` (a repeated request
    # header, which a dict of headers cannot carry: putheader).
    conn = http.client.HTTPConnection("127.0.0.1", rig.port, timeout=5)
    try:
        conn.putrequest("GET", "/", skip_host=True)
        conn.putheader("Host", "headers.example")
        for value in (
            "x-resp-set: from-backend",
            "x-resp-add: from-backend",
            "X-Resp-Remove: secret",
        ):
            conn.putheader("x-echo-set-header", value)
        conn.endheaders()
        r = conn.getresponse()
        r.read()
        headers = r.getheaders()
    finally:
        conn.close()
    values: dict[str, list[str]] = {}
    for k, v in headers:
        values.setdefault(k.lower(), []).append(v)
    assert values["x-resp-set"] == ["new"]
    assert ",".join(values["x-resp-add"]) == "from-backend,added"
    assert "x-resp-remove" not in values


def test_backend_level_header_filters(rig: Rig) -> None:
    seen: Counter[str] = Counter()
    for _ in range(30):
        r = rig.request("/", "bfilters.example")
        chosen = r.headers["x-echo-backend"]
        assert r.json()["headers"]["x-chosen"] == [chosen]
        assert r.headers["x-chosen-resp"] == chosen
        seen[chosen] += 1
    assert set(seen) == {"b1", "b2"}  # both backends, each with its own filter


# --- mirrors ------------------------------------------------------------------------------------


def mirrored(server: RecordingEcho, path: str, at_least: int) -> int:
    return wait_for(
        lambda: server.paths.count(path) >= at_least and server.paths.count(path),
        5,
        f"{at_least} mirrored {path} at {server.name}",
    )


def test_request_mirror(rig: Rig, mirrors: dict[str, RecordingEcho]) -> None:
    for _ in range(3):
        r = rig.request("/one/x?q=1", "mirror.example")
        assert r.headers["x-echo-backend"] == "b1"
    assert mirrored(mirrors["m1"], "/one/x?q=1", 3) == 3
    for other in ("m2", "m3", "m4", "m5"):
        assert "/one/x?q=1" not in mirrors[other].paths


def test_multiple_mirrors(rig: Rig, mirrors: dict[str, RecordingEcho]) -> None:
    for _ in range(2):
        assert rig.request("/several", "mirror.example").status == 200
    assert mirrored(mirrors["m2"], "/several", 2) == 2
    assert mirrored(mirrors["m3"], "/several", 2) == 2


@pytest.mark.parametrize(
    ("path", "server", "low", "high"), [("/percent", "m4", 8, 32), ("/fraction", "m5", 1, 22)]
)
def test_percentage_mirror(
    rig: Rig, mirrors: dict[str, RecordingEcho], path: str, server: str, low: int, high: int
) -> None:
    n = 40
    for i in range(n):
        assert rig.request(f"{path}/{i}", "mirror.example").status == 200
    # 50 %: 20 expected (sd 3.2); 1/4: 10 expected (sd 2.7). Bounds are >3 sd away.
    mirror_server = mirrors[server]
    wait_for(lambda: len(mirror_server.paths) >= low, 5, f"{low} mirrored requests")
    time.sleep(0.3)  # stragglers
    count = sum(p.startswith(f"{path}/") for p in mirror_server.paths)
    assert low <= count <= high, count


# --- CORS ---------------------------------------------------------------------------------------


def preflight(
    rig: Rig, path: str, origin: str, method: str = "GET", req_headers: str | None = None
) -> tuple[int, dict[str, str]]:
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if req_headers:
        headers["Access-Control-Request-Headers"] = req_headers
    r = rig.request(path, "cors.example", method="OPTIONS", headers=headers)
    assert "x-echo-backend" not in r.headers, "preflight must be answered by the gateway"
    return r.status, r.headers


def _list(value: str | None) -> set[str]:
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


@pytest.mark.parametrize(
    "origin", ["https://www.foo.com", "https://xpto.www.bar.com", "https://a.bar.com:443"]
)
def test_cors_preflight_allowed(rig: Rig, origin: str) -> None:
    status, h = preflight(rig, "/cors-1", origin, "GET", "x-header-1")
    assert status in (200, 204)
    assert h["access-control-allow-origin"] == origin
    assert "GET" in h["access-control-allow-methods"]
    assert "x-header-1" in _list(h.get("access-control-allow-headers"))
    assert h["access-control-max-age"] == "3600"
    assert h["access-control-allow-credentials"] == "true"


@pytest.mark.parametrize(
    "origin",
    ["https://evil.com", "http://www.foo.com", "https://bar.com", "https://www.foo.com.evil.com"],
)
def test_cors_preflight_disallowed_origin(rig: Rig, origin: str) -> None:
    status, h = preflight(rig, "/cors-1", origin)
    assert status in (200, 204, 403)
    assert "access-control-allow-origin" not in h


def test_cors_actual_request(rig: Rig) -> None:
    r = rig.request("/cors-1", "cors.example", headers={"Origin": "https://www.foo.com"})
    assert r.headers["x-echo-backend"] == "b1"
    assert r.headers["access-control-allow-origin"] == "https://www.foo.com"
    assert _list(r.headers.get("access-control-expose-headers")) == {"x-header-3", "x-header-4"}
    assert r.headers["access-control-allow-credentials"] == "true"
    denied = rig.request("/cors-1", "cors.example", headers={"Origin": "https://evil.com"})
    assert denied.headers["x-echo-backend"] == "b1"  # not a CORS matter: the browser decides
    assert "access-control-allow-origin" not in denied.headers


def test_cors_wildcards_with_credentials_echo_concrete_values(rig: Rig) -> None:
    origin = "https://anything.example"
    status, h = preflight(rig, "/cors-wild", origin, "PATCH", "x-custom, x-other")
    assert status in (200, 204)
    assert h["access-control-allow-origin"] == origin  # never `*` with credentials
    assert h["access-control-allow-credentials"] == "true"
    assert "patch" in _list(h["access-control-allow-methods"])
    assert h["access-control-allow-methods"] != "*"
    assert {"x-custom", "x-other"} <= _list(h["access-control-allow-headers"])
    assert h["access-control-max-age"] == "5"  # the default


def test_cors_wildcard_origin_without_credentials(rig: Rig) -> None:
    status, h = preflight(rig, "/cors-wild-unauth", "https://x.example", "PUT")
    assert status in (200, 204)
    assert h["access-control-allow-origin"] in ("*", "https://x.example")
    assert "access-control-allow-credentials" not in h
    assert "PUT" in h["access-control-allow-methods"]


# --- ExtensionRef -------------------------------------------------------------------------------


def test_unknown_extension_ref_answers_500_and_the_other_rules_serve(rig: Rig) -> None:
    """The filter is never skipped (spec: requests it would process MUST get an HTTP error),
    the route stays Accepted with ResolvedRefs=False/InvalidKind."""
    r = rig.request("/extended/x", "extension.example")
    assert r.status == 500
    assert "x-echo-backend" not in r.headers  # Envoy answered, no backend saw it
    assert rig.backend("/other", "extension.example") == "b1"
    resources = rig.hw.admin("/status").json()["resources"]
    status = next(x for x in resources if x["metadata"]["name"] == "extension")["status"]
    conds = {c["type"]: (c["status"], c["reason"]) for c in status["parents"][0]["conditions"]}
    assert conds["Accepted"] == ("True", "Accepted")
    assert conds["ResolvedRefs"] == ("False", "InvalidKind")
