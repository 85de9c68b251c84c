"""Resources -> plain dicts, for `translate -o yaml`, golden files and the admin /config.

Uses protobuf's JSON mapping (slow: never on the push path). Private keys are replaced by
their SHA-256 fingerprint unless the caller asks for them (`translate --show-secrets`): the
same certificate can be told apart, the key material is never shown.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from google.protobuf import json_format  # type: ignore[import-untyped]

from hatchway.xds.resources import SHORT_NAMES, XdsResources


def message_to_dict(message: Any, show_secrets: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = _plain(
        json_format.MessageToDict(message, preserving_proto_field_name=True), show_secrets
    )
    return result


# Protobuf map fields: their JSON keys come in the map's own order, which may differ from
# one process to the next; sorted, the output is stable.
_MAPS = frozenset({"typed_per_filter_config", "typed_extension_protocol_options"})
# Fields holding a protobuf Struct, whose order the JSON mapping does not keep: shown sorted
# by key all the way down (Envoy prints a JSON access log's keys sorted too).
_SORTED = frozenset({"json_format", "filter_metadata"})


def _plain(value: Any, show_secrets: bool) -> Any:
    """Packed `Any` fields come back as OrderedDicts; YAML/JSON writers want plain dicts."""
    if isinstance(value, dict):
        return {
            k: _redacted(v)
            if k == "private_key" and not show_secrets
            else _sorted(v)
            if k in _SORTED
            else _plain(dict(sorted(v.items())) if k in _MAPS else v, show_secrets)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_plain(v, show_secrets) for v in value]
    return value


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    return value


def _redacted(source: Any) -> dict[str, str]:
    """An Envoy DataSource holding a private key -> its fingerprint."""
    if not isinstance(source, dict):
        return {"redacted": "private key"}
    if "inline_bytes" in source:
        data = base64.b64decode(source["inline_bytes"])
    else:
        data = str(source.get("inline_string", "")).encode()
    return {"redacted": f"sha256:{hashlib.sha256(data).hexdigest()}"}


def to_dicts(
    resources: XdsResources, show_secrets: bool = False
) -> dict[str, list[dict[str, Any]]]:
    """`{"listeners": [...], "routes": [...], "clusters": [...], "endpoints": [...],
    "secrets": [...]}`, each list in the resources' stable order."""
    return {
        short: [message_to_dict(m, show_secrets) for m in resources.by_type[type_url].values()]
        for type_url, short in SHORT_NAMES.items()
    }
