"""Names and labels of a Gateway's generated objects.

Gateway names may be 253 characters and start with a digit; Service names must be DNS-1035
labels (63 characters, a letter first) and label values 63 characters. Names are
`hatchway-<gateway name>` when that fits, else the name cut short with a hash of the Gateway's
namespace and name, so two Gateways never share objects.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 63
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
GATEWAY_CLASS_LABEL = "gateway.networking.k8s.io/gateway-class-name"
# The selector label: immutable in a Deployment, so it depends only on the Gateway's identity.
GATEWAY_KEY_LABEL = "hatchway.dev/gateway"
MANAGED_BY = {
    "app.kubernetes.io/managed-by": "hatchway",
    "app.kubernetes.io/name": "hatchway-proxy",
}

_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def gateway_hash(namespace: str, name: str, length: int = 10) -> str:
    return hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:length]


def base_name(namespace: str, name: str) -> str:
    """The name of every object generated for the Gateway `namespace/name`."""
    plain = f"hatchway-{name}"
    if len(plain) <= MAX_NAME and _DNS1035.match(plain):
        return plain
    stem = re.sub(r"[^-a-z0-9]", "-", name)[: MAX_NAME - len("hatchway--") - 10].strip("-")
    return (
        f"hatchway-{stem}-{gateway_hash(namespace, name)}"
        if stem
        else (f"hatchway-{gateway_hash(namespace, name)}")
    )


def label_value(value: str) -> str:
    """A label value for `value`: itself when valid, else cut short with a hash."""
    if len(value) <= MAX_NAME and re.match(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$", value):
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:10]
    return f"{value[: MAX_NAME - 11].rstrip('-_.')}-{digest}"


def selector(namespace: str, name: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "hatchway-proxy",
        GATEWAY_KEY_LABEL: gateway_hash(namespace, name, 16),
    }
