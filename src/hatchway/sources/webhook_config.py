"""The ValidatingWebhookConfiguration's `caBundle`: the one field of it the controller owns.

The Helm chart creates the configuration (rules, failurePolicy, timeout, where the webhook
is) without a CA; the controller puts its CA into every webhook entry's
`clientConfig.caBundle` and checks again every `interval_s`, so a configuration re-applied
without it is repaired. A strategic merge patch names entries by `name` and touches
nothing else; RBAC allows `get` and `patch` on this one object by name.
"""

from __future__ import annotations

import asyncio
import base64
import logging

from lightkube import ApiError, AsyncClient
from lightkube.resources.admissionregistration_v1 import ValidatingWebhookConfiguration
from lightkube.types import PatchType

log = logging.getLogger("hatchway.webhook")


async def ensure_ca_bundle(client: AsyncClient, name: str, ca_pem: bytes) -> list[str]:
    """Set `caBundle` to `ca_pem` wherever it differs; returns the webhook entries patched."""
    want = base64.b64encode(ca_pem).decode()
    config = await client.get(ValidatingWebhookConfiguration, name)
    stale = [
        w.name
        for w in config.webhooks or []
        if (w.clientConfig.caBundle if w.clientConfig else None) != want
    ]
    if stale:
        patch = {"webhooks": [{"name": n, "clientConfig": {"caBundle": want}} for n in stale]}
        await client.patch(
            ValidatingWebhookConfiguration, name, patch, patch_type=PatchType.STRATEGIC
        )
        log.info("ValidatingWebhookConfiguration %s: caBundle set on %s", name, ", ".join(stale))
    return stale


async def keep_ca_bundle(
    client: AsyncClient, name: str, ca_pem: bytes, interval_s: float = 30.0
) -> None:
    """`ensure_ca_bundle` now and every `interval_s`, for as long as the controller runs."""
    while True:
        try:
            await ensure_ca_bundle(client, name, ca_pem)
        except ApiError as exc:
            # Missing (not installed yet) or refused: the webhook still serves; the API server
            # only cannot verify it until this succeeds (failurePolicy Ignore: writes go on).
            log.warning(
                "ValidatingWebhookConfiguration %s: caBundle not set: %s", name, exc.status.message
            )
        await asyncio.sleep(interval_s)
