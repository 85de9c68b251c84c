"""XTelemetryPolicy as the API server admits it: the CRD's CEL rules refuse, with the field
and the CRD's message, what a cluster would refuse."""

from __future__ import annotations

from typing import Any

import pytest

from snapshots import parse

TARGET = [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge"}]
PROVIDER = {"backendRef": {"name": "otel", "port": 4317}}


def _errors(tracing: dict[str, Any] | None) -> list[str]:
    spec: dict[str, Any] = {"targetRefs": TARGET}
    if tracing is not None:
        spec["tracing"] = tracing
    body = {
        "apiVersion": "gateway.networking.x-k8s.io/v1alpha1",
        "kind": "XTelemetryPolicy",
        "metadata": {"name": "p", "namespace": "infra"},
        "spec": spec,
    }
    result = parse([body])
    if not result.errors:
        assert len(result.snapshot.telemetry_policies) == 1
    return [f"{e.field}: {e.message}" for e in result.errors]


def test_a_valid_policy_loads() -> None:
    assert (
        _errors(
            {
                "mode": "Enabled",
                "provider": PROVIDER,
                "samplingRate": {"numerator": 5},
                "parentBasedSampling": {"mode": "Enabled", "samplingRate": {"numerator": 50}},
                "attributes": [{"name": "env", "sourceType": "Literal", "literalValue": "x"}],
            }
        )
        == []
    )
    assert _errors({"mode": "Disabled"}) == []


@pytest.mark.parametrize(
    ("tracing", "message"),
    [
        (None, "at least one of the fields in [tracing] must be set"),
        ({"mode": "Enabled"}, "provider is required when mode is Enabled"),
        ({"mode": "Disabled", "provider": PROVIDER}, "provider is required when mode is Enabled"),
        (
            {"mode": "Enabled", "provider": PROVIDER, "samplingRate": {"numerator": 150}},
            "numerator must be less than or equal to denominator",
        ),
        (
            {"mode": "Disabled", "samplingRate": {"numerator": 5}},
            "samplingRate can only be set when mode is Enabled",
        ),
        (
            {
                "mode": "Enabled",
                "provider": PROVIDER,
                "attributes": [{"name": "a", "sourceType": "Literal", "headerName": "X-A"}],
            },
            "headerName is required when sourceType is Header",
        ),
        (
            {"mode": "Enabled", "provider": {"backendRef": {"name": "otel"}}},
            "Must have port for Service reference",
        ),
        (
            {
                "mode": "Enabled",
                "provider": PROVIDER,
                "parentBasedSampling": {"mode": "Disabled", "samplingRate": {"numerator": 1}},
            },
            "samplingRate can only be set when mode is Enabled",
        ),
    ],
)
def test_cel_rules(tracing: dict[str, Any] | None, message: str) -> None:
    errors = _errors(tracing)
    assert errors and any(message in e for e in errors), errors
