"""Object names and namespaces, checked as the API server checks them.

Hatchway keys Envoy resources by `namespace/name` (a certificate's SDS Secret is
`cert/<namespace>/<name>`): a `/` in either would let Secret `x/key` in namespace `team`
and Secret `key` in namespace `team/x` share a key, and one Gateway be served the other's
certificate. The API server never lets such names exist; file input gets the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from hatchway.model.shown import quoted

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")

_SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (at most 253 characters)"
)
_LABEL_RULE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (at most 63 characters)"
)
_DNS1035_RULE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character (at most 63 characters)"
)
# Kinds whose names follow another rule than a DNS-1123 subdomain (custom resources, Secret,
# ConfigMap and EndpointSlice names are subdomains).
_NAME_RULES: dict[str, tuple[re.Pattern[str], int, str]] = {
    "Namespace": (_LABEL, 63, _LABEL_RULE),
    "Service": (_DNS1035, 63, _DNS1035_RULE),
    # A path segment: `<signer with : for />:<name>` for a bundle linked to a signer.
    "ClusterTrustBundle": (
        re.compile(r"^(?!\.{1,2}$)[^/%]+$"),
        253,
        "a ClusterTrustBundle name may not contain '/' or '%', nor be '.' or '..'",
    ),
}


def problems(kind: str, name: object, namespace: object) -> Iterator[tuple[str, str]]:
    """(field, message) for a `metadata.name` / `metadata.namespace` the API server refuses.
    Values of the wrong type are left to the schema check."""
    pattern, limit, rule = _NAME_RULES.get(kind, (_SUBDOMAIN, 253, _SUBDOMAIN_RULE))
    if isinstance(name, str) and not (len(name) <= limit and pattern.match(name)):
        yield "metadata.name", f"Invalid value: {quoted(name)}: {rule}"
    if isinstance(namespace, str) and not (len(namespace) <= 63 and _LABEL.match(namespace)):
        yield "metadata.namespace", f"Invalid value: {quoted(namespace)}: {_LABEL_RULE}"
