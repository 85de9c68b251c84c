"""The xDS certificate authority, kept in a Secret of the controller's namespace.

The first replica to start creates it; every replica (and every restart) loads the same one,
so proxies trust all of them. Replicas racing to create it: one wins (201), the others read
the winner's (409, then get).
"""

from __future__ import annotations

import base64
import logging

from lightkube import ApiError, AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Secret

from hatchway.pki import Authority
from hatchway.sources import clock

log = logging.getLogger("hatchway.ca")

CERT_KEY, KEY_KEY = "ca.crt", "ca.key"


def _decode(secret: Secret) -> Authority | None:
    data = secret.data or {}
    if CERT_KEY not in data or KEY_KEY not in data:
        return None
    return Authority(base64.b64decode(data[CERT_KEY]), base64.b64decode(data[KEY_KEY]))


async def load_or_create(client: AsyncClient, namespace: str, name: str) -> Authority:
    try:
        found = _decode(await client.get(Secret, name, namespace=namespace))
        if found is not None:
            return found
        raise RuntimeError(f"Secret {namespace}/{name} holds no {CERT_KEY}/{KEY_KEY}")
    except ApiError as exc:
        if exc.status.code != 404:
            raise
    authority = Authority.create(clock.now())
    secret = Secret(
        metadata=ObjectMeta(
            name=name,
            namespace=namespace,
            labels={"app.kubernetes.io/name": "hatchway", "app.kubernetes.io/component": "xds-ca"},
        ),
        type="Opaque",
        data={
            CERT_KEY: base64.b64encode(authority.cert_pem).decode(),
            KEY_KEY: base64.b64encode(authority.key_pem).decode(),
        },
    )
    try:
        await client.create(secret)
        log.info("created the xDS certificate authority in Secret %s/%s", namespace, name)
        return authority
    except ApiError as exc:
        if exc.status.code != 409:
            raise
    found = _decode(await client.get(Secret, name, namespace=namespace))
    if found is None:
        raise RuntimeError(f"Secret {namespace}/{name} holds no {CERT_KEY}/{KEY_KEY}")
    return found
