"""Resources -> plain dicts, for `translate -o yaml`, golden files and the admin /config.

Uses protobuf's JSON mapping (slow: never on the push path).
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format  # type: ignore[import-untyped]

from hatchway.xds.resources import SHORT_NAMES, XdsResources


def message_to_dict(message: Any) -> dict[str, Any]:
    result: dict[str, Any] = _plain(
        json_format.MessageToDict(message, preserving_proto_field_name=True)
    )
    return result


def _plain(value: Any) -> Any:
    """Packed `Any` fields come back as OrderedDicts; YAML/JSON writers want plain dicts."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def to_dicts(resources: XdsResources) -> dict[str, list[dict[str, Any]]]:
    """`{"listeners": [...], "routes": [...], "clusters": [...], "endpoints": [...],
    "secrets": [...]}`, each list in the resources' stable order."""
    return {
        short: [message_to_dict(m) for m in resources.by_type[type_url].values()]
        for type_url, short in SHORT_NAMES.items()
    }
