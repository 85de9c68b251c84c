"""The model reads every field the upstream CRDs define, for every version they serve.

Walks the OpenAPI schema of each CRD (standard and experimental channels) of the Gateway API
releases Hatchway reads and checks each `spec` property against the pydantic model of its
kind, recursively: a field the CRD has and the model lacks would make `--check` refuse valid
objects (strict models forbid unknown fields). The kinds Hatchway does not read are listed
with the reason.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

import upstream
from hatchway.model.kinds import GATEWAY_API_VERSIONS, KINDS

NOT_READ = {
    "XBackendTrafficPolicy": "no BackendTrafficPolicy support (its session persistence is "
    "deprecated in favour of XBackend)",
    "XMesh": "mesh is out of scope",
    "XTelemetryPolicy": "tracing is translated by the observability work, not read here yet",
}


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _missing(schema: dict[str, Any], model: type[BaseModel], path: str) -> list[str]:
    fields = {(f.alias or name): f for name, f in model.model_fields.items()}
    out: list[str] = []
    for name, sub in (schema.get("properties") or {}).items():
        if name not in fields:
            out.append(f"{path}.{name}")
            continue
        inner = sub.get("items", {}) if sub.get("type") == "array" else sub
        if inner.get("properties"):
            nested = _model_of(fields[name].annotation)
            if nested is None:
                out.append(f"{path}.{name} (modelled as a plain value)")
            else:
                out += _missing(inner, nested, f"{path}.{name}")
    return out


def _crds(version: str) -> list[tuple[str, dict[str, Any]]]:
    root = Path(upstream.crds(version))
    out = []
    for path in sorted(root.glob("*/*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                out.append((f"{path.parent.name}/{path.name}", doc))
    return out


@pytest.mark.parametrize("version", GATEWAY_API_VERSIONS)
def test_every_crd_field_is_modelled(version: str) -> None:
    problems: list[str] = []
    seen = 0
    for where, crd in _crds(version):
        kind = crd["spec"]["names"]["kind"]
        info = KINDS.get(kind)
        if info is None:
            assert kind in NOT_READ, f"{where}: {kind} is neither read nor listed in NOT_READ"
            continue
        group = crd["spec"]["group"]
        spec_model = _model_of(info.model.model_fields["spec"].annotation)
        assert spec_model is not None
        for served in crd["spec"]["versions"]:
            seen += 1
            api_version = f"{group}/{served['name']}"
            if api_version not in info.api_versions:
                problems.append(f"{where}: {api_version} {kind} is served but not read")
            schema = served["schema"]["openAPIV3Schema"]["properties"]["spec"]
            problems += [
                f"{where} {served['name']}: {m}" for m in _missing(schema, spec_model, kind)
            ]
    assert seen > 20
    assert problems == []


def test_the_first_version_is_the_one_implemented() -> None:
    assert GATEWAY_API_VERSIONS[0] == "v1.7.0"
