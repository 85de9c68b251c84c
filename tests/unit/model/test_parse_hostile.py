"""Every failure of one object is that object's error: values of any type or shape, names
that are not strings, Secrets with bad base64. Messages are bounded and never echo secret
material."""

from __future__ import annotations

import base64
from typing import Any

import snapshots
from hatchway.model.shown import MESSAGE_LIMIT

GW = "gateway.networking.k8s.io/v1"


def parse(*bodies: object) -> Any:
    return snapshots.parse(bodies)


def deep(levels: int) -> object:
    value: object = "x"
    for _ in range(levels):
        value = [value]
    return value


def test_an_api_version_that_is_not_a_string() -> None:
    (error,) = parse({"apiVersion": ["v1"], "kind": "Namespace", "metadata": {"name": "n"}}).errors
    assert error.field == "apiVersion"
    assert "Unsupported value: a list of 1 items" in error.message


def test_names_that_are_not_strings_are_shown_as_written() -> None:
    result = parse(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": 123}},
        {"apiVersion": GW, "kind": "HTTPRoute", "metadata": {"name": True, "namespace": 7}},
    )
    first, second = result.errors
    assert (first.name, first.field) == ("123", "metadata.name")
    assert str(first) == (
        "in.yaml (document 0): Namespace 123: metadata.name: "
        "Invalid value: 123: Input should be a valid string"
    )
    assert (second.namespace, second.name) == ("7", "true")


def test_deep_and_self_containing_values_are_errors_not_crashes() -> None:
    loop: list[object] = []
    loop.append(loop)
    bodies = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": deep(1000)}},
        {"apiVersion": GW, "kind": "HTTPRoute", "metadata": {"name": "r"}, "spec": deep(1000)},
        {"apiVersion": GW, "kind": "HTTPRoute", "metadata": {"name": "s"}, "spec": {"x": loop}},
        {"apiVersion": loop, "kind": "Namespace", "metadata": {"name": loop}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fine"}},
    ]
    result = parse(*bodies)
    assert [n.metadata.name for n in result.snapshot.namespaces] == ["fine"]
    assert sorted({e.document for e in result.errors}) == [0, 1, 2, 3]
    assert all(len(str(e)) < 600 for e in result.errors), [str(e) for e in result.errors]


def test_messages_are_bounded_whatever_the_value() -> None:
    huge = "x" * 400_000
    result = parse(
        {
            "apiVersion": GW,
            "kind": "HTTPRoute",
            "metadata": {"name": "r"},
            "spec": {"hostnames": [huge]},
        },
        {"apiVersion": GW, "kind": "HTTPRoute", "metadata": {"name": huge}},
        {"apiVersion": GW, "kind": huge, "metadata": {"name": "k"}},
    )
    assert len(result.errors) == 2
    (unknown,) = result.skipped  # a kind Hatchway does not use: skipped, named in a summary
    assert len(unknown.kind or "") <= 63
    for e in (*result.errors, unknown):
        assert len(str(e)) < 1200, str(e)[:300]
        assert len(e.message) <= MESSAGE_LIMIT
    assert '"xxxx' in result.errors[0].message and "…" in result.errors[0].message


def test_bad_base64_names_the_key_and_echoes_no_secret_data() -> None:
    key = b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\n-----END PRIVATE KEY-----\n"
    good = base64.b64encode(key).decode()
    result = parse(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "tls"},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": good, "tls.key": good[:30] + "!!not-base64!!" + good[30:]},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "typed"},
            "stringData": {"password": 123456789, "token": ["s3cr3t-token-value"]},
        },
    )
    first, *others = result.errors
    assert (first.field, first.message) == ("data", "invalid base64 in data.tls.key")
    text = " ".join(str(e) for e in result.errors)
    for secret in ("MIIEvQ", good[:12], "123456789", "s3cr3t"):
        assert secret not in text, text
    assert [e.field for e in others] == ["stringData.password", "stringData.token"]


def test_null_pruning_stops_at_self_containing_and_very_deep_values() -> None:
    """An object handed to the parser directly (not through the decoder, which refuses these)
    that contains itself or nests 1,000 levels, with a null that makes validation fail: an
    error for that object, never a RecursionError."""
    loop: list[object] = []
    loop.append(loop)
    deep: object = None
    for _ in range(1000):
        deep = [deep]
    for value in (loop, deep):
        body = {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "r", "labels": None},
            "spec": {"hostnames": value},
        }
        result = parse(body)
        assert result.snapshot.http_routes == ()
        assert len(result.errors) >= 1
