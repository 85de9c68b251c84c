"""parse_documents: defaults, metadata handling, kinds, duplicates, error field paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hatchway.model.meta import EPOCH
from hatchway.model.parse import Document, parse_documents, skipped_summary

GW = "gateway.networking.k8s.io/v1"


def doc(body: object, index: int = 0, source: str = "in.yaml") -> Document:
    return Document(source=source, index=index, body=body)


def route(name: str = "r", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": GW, "kind": "HTTPRoute", "metadata": {"name": name}, "spec": spec}


def test_httproute_defaults() -> None:
    result = parse_documents(
        [
            doc(
                route(
                    parentRefs=[{"name": "gw"}],
                    rules=[{"backendRefs": [{"name": "s", "port": 80}]}],
                )
            )
        ]
    )
    assert result.errors == ()
    r = result.snapshot.http_routes[0]
    assert r.metadata.namespace == "default"
    assert r.metadata.generation == 1
    ref = r.spec.parent_refs[0]
    assert (ref.group, ref.kind) == ("gateway.networking.k8s.io", "Gateway")
    backend = r.spec.rules[0].backend_refs[0]
    assert (backend.group, backend.kind, backend.weight) == ("", "Service", 1)
    match = r.spec.rules[0].matches[0]
    assert (match.path.type, match.path.value) == ("PathPrefix", "/")


def test_route_without_rules_gets_default_rule() -> None:
    r = parse_documents([doc(route())]).snapshot.http_routes[0]
    assert len(r.spec.rules) == 1
    assert r.spec.rules[0].matches[0].path.value == "/"


@pytest.mark.parametrize(
    ("spec", "getter", "expected"),
    [
        (
            {"rules": [{"matches": [{"headers": [{"name": "a", "value": "b"}]}]}]},
            lambda s: s.rules[0].matches[0].headers[0].type,
            "Exact",
        ),
        (
            {"rules": [{"matches": [{"queryParams": [{"name": "a", "value": "b"}]}]}]},
            lambda s: s.rules[0].matches[0].query_params[0].type,
            "Exact",
        ),
        (
            {"rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {}}]}]},
            lambda s: s.rules[0].filters[0].request_redirect.status_code,
            302,
        ),
        (
            {"rules": [{"filters": [{"type": "CORS", "cors": {}}]}]},
            lambda s: s.rules[0].filters[0].cors.max_age,
            5,
        ),
        (
            {
                "rules": [
                    {
                        "filters": [
                            {
                                "type": "RequestMirror",
                                "requestMirror": {
                                    "backendRef": {"name": "m", "port": 80},
                                    "fraction": {"numerator": 1},
                                },
                            }
                        ]
                    }
                ]
            },
            lambda s: s.rules[0].filters[0].request_mirror.fraction.denominator,
            100,
        ),
        (
            {"rules": [{"sessionPersistence": {"cookieConfig": {}}}]},
            lambda s: (
                s.rules[0].session_persistence.type,
                s.rules[0].session_persistence.cookie_config.lifetime_type,
            ),
            ("Cookie", "Session"),
        ),
    ],
)
def test_httproute_nested_defaults(spec: dict[str, Any], getter: Any, expected: object) -> None:
    result = parse_documents([doc(route(**spec))])
    assert result.errors == ()
    assert getter(result.snapshot.http_routes[0].spec) == expected


def gateway(listeners: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": GW,
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "infra"},
        "spec": {"gatewayClassName": "c", "listeners": listeners, **spec},
    }


def test_gateway_defaults() -> None:
    tls = {"certificateRefs": [{"name": "cert"}]}
    frontend = {
        "default": {
            "validation": {"caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": "ca"}]}
        }
    }
    gw_body = gateway(
        [
            {
                "name": "https",
                "port": 443,
                "protocol": "HTTPS",
                "tls": tls,
                "allowedRoutes": {"kinds": [{"kind": "HTTPRoute"}]},
            }
        ],
        addresses=[{"value": "10.0.0.1"}],
        tls={"frontend": frontend},
    )
    result = parse_documents([doc(gw_body)])
    assert result.errors == ()
    gw = result.snapshot.gateways[0]
    listener = gw.spec.listeners[0]
    assert listener.tls is not None and listener.tls.mode == "Terminate"
    cert = listener.tls.certificate_refs[0]
    assert (cert.group, cert.kind) == ("", "Secret")
    assert listener.allowed_routes.namespaces.from_ == "Same"
    assert listener.allowed_routes.kinds[0].group == "gateway.networking.k8s.io"
    assert gw.spec.addresses[0].type == "IPAddress"
    assert gw.spec.listener_namespaces.from_ == "None"
    assert gw.spec.tls is not None and gw.spec.tls.frontend is not None
    validation = gw.spec.tls.frontend.default.validation
    assert validation is not None and validation.mode == "AllowValidOnly"


def test_grpc_method_match_defaults_to_exact() -> None:
    body = {
        "apiVersion": GW,
        "kind": "GRPCRoute",
        "metadata": {"name": "g"},
        "spec": {
            "rules": [
                {
                    "matches": [
                        {"method": {"service": "foo.Bar"}, "headers": [{"name": "h", "value": "v"}]}
                    ]
                }
            ]
        },
    }
    result = parse_documents([doc(body)])
    assert result.errors == ()
    match = result.snapshot.grpc_routes[0].spec.rules[0].matches[0]
    assert match.method is not None and match.method.type == "Exact"
    assert match.headers[0].type == "Exact"


def test_list_kind_is_unpacked() -> None:
    body = {"apiVersion": "v1", "kind": "List", "items": [route("a"), route("b")]}
    result = parse_documents([doc(body)])
    assert [r.metadata.name for r in result.snapshot.http_routes] == ["a", "b"]


def test_timestamps_follow_input_order_and_given_ones_are_kept() -> None:
    given = route("c")
    given["metadata"]["creationTimestamp"] = "2024-05-01T10:00:00Z"
    result = parse_documents([doc(route("a")), doc(route("b"), 1), doc(given, 2)])
    stamps = [r.metadata.creation_timestamp for r in result.snapshot.http_routes]
    assert stamps[0] == EPOCH
    assert stamps[1] == EPOCH + timedelta(seconds=1)
    assert stamps[2] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    # Deterministic: the same input gives the same stamps.
    again = parse_documents([doc(route("a")), doc(route("b"), 1), doc(given, 2)])
    assert [r.metadata.creation_timestamp for r in again.snapshot.http_routes] == stamps


def test_namespace_gets_name_label_and_no_namespace() -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "team", "labels": {"a": "b"}},
    }
    ns = parse_documents([doc(body)]).snapshot.namespaces[0]
    assert ns.metadata.labels == {"a": "b", "kubernetes.io/metadata.name": "team"}
    assert ns.metadata.namespace == ""


def test_unknown_kind_is_skipped_not_an_error() -> None:
    """A real manifest folder holds Deployments beside the routes: not an input error."""
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}}
    result = parse_documents([doc(body), doc(route(), 1), doc(job, 2), doc(dict(body), 3)])
    assert len(result.snapshot.http_routes) == 1
    assert result.errors == ()
    first = result.skipped[0]
    assert (first.file, first.document, first.kind, first.name) == ("in.yaml", 0, "Deployment", "d")
    assert skipped_summary(result.skipped) == (
        "skipped 3 objects of kinds Hatchway does not use: Deployment (2), Job (1)"
    )


def test_unsupported_api_version() -> None:
    body = route()
    body["apiVersion"] = "gateway.networking.k8s.io/v9"
    (err,) = parse_documents([doc(body)]).errors
    assert err.field == "apiVersion"


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_served_versions_accepted(version: str) -> None:
    body = route()
    body["apiVersion"] = f"gateway.networking.k8s.io/{version}"
    assert parse_documents([doc(body)]).errors == ()


def test_duplicate_keeps_first() -> None:
    first = route("r", hostnames=["a.example"])
    second = route("r", hostnames=["b.example"])
    result = parse_documents([doc(first, 0, "a.yaml"), doc(second, 0, "b.yaml")])
    (r,) = result.snapshot.http_routes
    assert r.spec.hostnames == ("a.example",)
    (err,) = result.errors
    assert (err.file, err.kind, err.namespace, err.name) == ("b.yaml", "HTTPRoute", "default", "r")
    assert "a.yaml" in err.message


def test_same_name_other_namespace_is_not_a_duplicate() -> None:
    other = route("r")
    other["metadata"]["namespace"] = "x"
    assert parse_documents([doc(route("r")), doc(other, 1)]).errors == ()


def test_status_is_ignored() -> None:
    body = route()
    body["status"] = {"parents": [{"whatever": True}]}
    assert parse_documents([doc(body)]).errors == ()


def test_invalid_object_dropped_others_kept() -> None:
    bad = route("bad", rules=[{"matches": [{"path": {"type": "Exact", "value": "nope"}}]}])
    result = parse_documents([doc(bad), doc(route("good"), 1)])
    assert [r.metadata.name for r in result.snapshot.http_routes] == ["good"]
    (err,) = result.errors
    assert err.field == "spec.rules[0].matches[0].path.value"
    assert (err.kind, err.namespace, err.name, err.document) == ("HTTPRoute", "default", "bad", 0)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (
            {"rules": [{"matches": [{}, {"path": {"type": "Bogus"}}]}]},
            "spec.rules[0].matches[1].path.type",
        ),
        ({"parentRefs": [{"name": "gw", "sectionNme": "x"}]}, "spec.parentRefs[0].sectionNme"),
        ({"parentRefs": [{"name": "gw", "section_name": "x"}]}, "spec.parentRefs[0].section_name"),
        ({"parentRefs": [{"name": "gw", "port": "80"}]}, "spec.parentRefs[0].port"),
        ({"parentRefs": [{"port": 80}]}, "spec.parentRefs[0].name"),
        ({"hostnames": ["Bad_Host"]}, "spec.hostnames[0]"),
        (
            {"rules": [{"backendRefs": [{"name": "s", "port": 80, "weight": 1000001}]}]},
            "spec.rules[0].backendRefs[0].weight",
        ),
        ({"rules": [{"timeouts": {"request": "10 seconds"}}]}, "spec.rules[0].timeouts.request"),
    ],
)
def test_schema_error_paths(spec: dict[str, Any], field: str) -> None:
    errors = parse_documents([doc(route(**spec))]).errors
    assert [e.field for e in errors] == [field], errors


def test_non_object_document() -> None:
    (err,) = parse_documents([doc(["a", "b"])]).errors
    assert "expected an object" in err.message


def test_empty_document_is_skipped() -> None:
    assert parse_documents([doc(None)]).errors == ()


def test_secret_data_decoded_and_string_data_merged() -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "Y2VydA=="},
        "stringData": {"tls.key": "key"},
    }
    secret = parse_documents([doc(body)]).snapshot.secrets[0]
    assert secret.data == {"tls.crt": b"cert", "tls.key": b"key"}


def test_secret_bad_base64() -> None:
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "%%%"}}
    (err,) = parse_documents([doc(body)]).errors
    assert err.field == "data"


def test_endpoint_slice_and_service() -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {
            "clusterIP": "10.0.0.1",
            "ports": [
                {
                    "name": "http",
                    "port": 80,
                    "targetPort": "http",
                    "appProtocol": "kubernetes.io/h2c",
                }
            ],
        },
    }
    eps = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
        "ports": [{"name": "http", "port": 8080}],
    }
    result = parse_documents([doc(svc), doc(eps, 1)])
    assert result.errors == ()
    port = result.snapshot.services[0].spec.ports[0]
    assert (port.target_port, port.protocol, port.app_protocol) == (
        "http",
        "TCP",
        "kubernetes.io/h2c",
    )
    slice_ = result.snapshot.endpoint_slices[0]
    assert slice_.service_name == "web"
    assert slice_.endpoints[0].conditions.ready is True


@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        (
            "Gateway",
            {
                "gatewayClassName": "c",
                "listeners": [
                    {
                        "name": "l",
                        "port": 80,
                        "protocol": "HTTP",
                        "hostname": "NULL",
                        "allowedRoutes": {
                            "namespaces": {"from": "NULL"},
                            "kinds": [{"group": "NULL", "kind": "HTTPRoute"}],
                        },
                    }
                ],
                "addresses": "NULL",
            },
        ),
        (
            "HTTPRoute",
            {
                "parentRefs": [{"group": "NULL", "kind": "NULL", "name": "gw", "port": "NULL"}],
                "hostnames": "NULL",
                "rules": [
                    {
                        "matches": [{"path": {"type": "NULL", "value": "/x"}, "headers": "NULL"}],
                        "filters": [
                            {
                                "type": "RequestHeaderModifier",
                                "requestHeaderModifier": {
                                    "add": "NULL",
                                    "set": [{"name": "x", "value": "y"}],
                                    "remove": "NULL",
                                },
                            }
                        ],
                        "backendRefs": [
                            {
                                "group": "NULL",
                                "kind": "NULL",
                                "name": "s",
                                "port": 80,
                                "weight": "NULL",
                            }
                        ],
                        "timeouts": "NULL",
                    }
                ],
            },
        ),
    ],
)
def test_explicit_null_is_the_field_left_out(kind: str, spec: dict[str, Any]) -> None:
    """The API server prunes nulls in fields that are not nullable (none in Gateway API), then
    defaults: an object with `field: null` is the object without the field."""

    def with_nulls(value: Any) -> Any:
        if value == "NULL":
            return None
        if isinstance(value, dict):
            return {k: with_nulls(v) for k, v in value.items()}
        if isinstance(value, list):
            return [with_nulls(v) for v in value]
        return value

    def body(s: Any) -> dict[str, Any]:
        meta = {"name": "o", "creationTimestamp": None, "labels": None}
        return {"apiVersion": GW, "kind": kind, "metadata": meta, "spec": s}

    nulls = parse_documents([doc(body(with_nulls(spec)))])
    assert nulls.errors == ()
    plain = parse_documents([doc(body(_strip(spec)))])
    assert plain.errors == ()
    field = "gateways" if kind == "Gateway" else "http_routes"
    assert getattr(nulls.snapshot, field) == getattr(plain.snapshot, field)


def _strip(value: Any) -> Any:
    """`value` without its `"NULL"` entries: the fields left out."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if v != "NULL"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def test_explicit_null_in_a_required_field_is_still_required() -> None:
    spec = {"parentRefs": [{"name": None}], "rules": [{"backendRefs": [None]}]}
    errors = parse_documents([doc(route(**spec))]).errors
    assert {(e.field, e.message.split(":")[0]) for e in errors} == {
        ("spec.parentRefs[0].name", "Required value"),
        ("spec.rules[0].backendRefs[0]", "Invalid value"),
    }, errors


def test_models_with_the_same_fields_share_one_fields_set_and_stay_apart_when_copied() -> None:
    a, b = (
        parse_documents(
            [doc(route(n, parentRefs=[{"name": "gw"}], hostnames=[f"{n}.test"]))]
        ).snapshot.http_routes[0]
        for n in ("a", "b")
    )
    assert a.spec.model_fields_set == {"parent_refs", "hostnames"}
    assert a.spec.__pydantic_fields_set__ is b.spec.__pydantic_fields_set__  # one set, shared
    copied = a.spec.model_copy(update={"rules": []})
    assert copied.model_fields_set == {"parent_refs", "hostnames", "rules"}
    assert b.spec.model_fields_set == {"parent_refs", "hostnames"}  # the shared set unchanged
    # What the input left out stays out of an `exclude_unset` dump (GatewayParameters merge).
    assert set(b.spec.model_dump(exclude_unset=True)) == {"parent_refs", "hostnames"}
