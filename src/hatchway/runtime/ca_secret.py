"""The controller's CA, kept in a Secret of its namespace so every replica has the same one.

Created by the first replica that finds none (of two racing, the API server lets one create
it; the other reads it). Its type is `hatchway.dev/ca`, not `kubernetes.io/tls`: the
controller watches TLS Secrets as listener certificates, and a CA key must never be one.
Read with a list by name (the controller's RBAC lists Secrets but never gets one by name).
"""

from __future__ import annotations

import base64
import datetime as dt
import logging

from lightkube import ApiError, AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Secret

from hatchway.runtime.certificates import Authority

log = logging.getLogger("hatchway.ca")

SECRET_TYPE = "hatchway.dev/ca"


class UnusableCA(Exception):
    """A Secret of that name exists but holds no Hatchway CA."""


async def load_or_create(client: AsyncClient, namespace: str, name: str) -> Authority:
    """The CA in Secret `namespace/name`, created first if there is none."""
    for _ in range(3):
        found = await _find(client, namespace, name)
        if found is not None:
            return found
        authority = Authority.create(dt.datetime.now(dt.UTC))
        secret = Secret(
            metadata=ObjectMeta(name=name, namespace=namespace),
            type=SECRET_TYPE,
            data={
                "ca.crt": base64.b64encode(authority.cert_pem).decode(),
                "ca.key": base64.b64encode(authority.key_pem).decode(),
            },
        )
        try:
            await client.create(secret)
        except ApiError as exc:
            if exc.status.code != 409:  # 409: another replica created it first
                raise
            continue
        log.info("created the controller's CA in Secret %s/%s", namespace, name)
        return authority
    raise UnusableCA(f"Secret {namespace}/{name} could neither be read nor created")


async def _find(client: AsyncClient, namespace: str, name: str) -> Authority | None:
    async for secret in client.list(Secret, namespace=namespace, fields={"metadata.name": name}):
        data = secret.data or {}
        if secret.type != SECRET_TYPE or "ca.crt" not in data or "ca.key" not in data:
            raise UnusableCA(
                f"Secret {namespace}/{name} is not a Hatchway CA (type {SECRET_TYPE} with "
                "ca.crt and ca.key); delete it or name another with --ca-secret"
            )
        return Authority(base64.b64decode(data["ca.crt"]), base64.b64decode(data["ca.key"]))
    return None
