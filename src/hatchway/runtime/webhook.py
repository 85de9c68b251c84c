"""The validating admission webhook `hatchway controller --webhook-address` serves.

`POST /validate` takes an `admission.k8s.io/v1` AdmissionReview and answers allowed or
denied (HTTP 422 in the status, a message naming the object and fields) with `warnings`,
which kubectl prints. It reads only the controller's view and never writes anything
(`sideEffects: None`). HTTPS with a certificate for `server_names` from the controller's CA
(the xDS CA, in the Secret `sources.ca_store` keeps); the ValidatingWebhookConfiguration's
`caBundle` is kept equal to that CA (`sources.webhook_config`). The configuration says
`failurePolicy: Ignore`: while the controller is down, writes go through unchecked.

`start_webhook` is all the controller calls: it starts the server, the CA bundle keeper and
the reviewer's warm-up, and hands back what stops them.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from lightkube import AsyncClient

from hatchway.admission import Verdict, denial_message
from hatchway.pki import SERVER_LIFETIME, Authority
from hatchway.runtime.reviewer import Current, Reviewer, in_namespace
from hatchway.sources import clock
from hatchway.sources.webhook_config import keep_ca_bundle

log = logging.getLogger("hatchway.webhook")

PATH = "/validate"
# An AdmissionReview holds the object and, on UPDATE, the stored one (etcd: 1.5 MiB each).
MAX_BODY = 8 << 20


@dataclass(frozen=True)
class WebhookSettings:
    host: str = "0.0.0.0"
    port: int = 9443
    server_names: tuple[str, ...] = ("127.0.0.1",)  # SANs of its certificate
    configuration: str | None = None  # the ValidatingWebhookConfiguration to keep a CA in
    budget_s: float = 2.0  # then answered without findings (the API server waits longer)
    settle_s: float = 0.5  # findings recomputed while the view catches up, for this long


def response(uid: str, verdict: Verdict, body: object) -> dict[str, Any]:
    """The AdmissionReview answering request `uid`."""
    answer: dict[str, Any] = {"uid": uid, "allowed": verdict.allowed}
    if not verdict.allowed:
        message = denial_message(verdict, body)
        answer["status"] = {"code": 422, "reason": "Invalid", "message": message}
    if verdict.warnings:
        answer["warnings"] = list(verdict.warnings)
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": answer}


def make_app(reviewer: Reviewer) -> web.Application:
    async def validate(request: web.Request) -> web.Response:
        try:
            doc: Any = await request.json()
            req = doc["request"]
            uid = req["uid"]
            if not isinstance(req, dict) or not isinstance(uid, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "expected an AdmissionReview"}, status=400)
        req = {**req, "object": in_namespace(req.get("object"), req)}
        verdict = await reviewer.answer(req)
        if verdict.denied:
            log.info("denied %s", denial_message(verdict, req["object"]))
        return web.json_response(response(uid, verdict, req["object"]))

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post(PATH, validate)
    return app


def _load(context: ssl.SSLContext, authority: Authority, names: tuple[str, ...]) -> None:
    """A fresh certificate for `names` into `context` (new handshakes use it)."""
    cert, key = authority.server_certificate(list(names), clock.now())
    with tempfile.TemporaryDirectory(prefix="hatchway-webhook-") as tmp:
        cert_path, key_path = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
        cert_path.write_bytes(cert)
        key_path.touch(0o600)
        key_path.write_bytes(key)
        context.load_cert_chain(cert_path, key_path)


class WebhookServer:
    def __init__(self, reviewer: Reviewer, settings: WebhookSettings, authority: Authority):
        self.reviewer = reviewer
        self.settings = settings
        self.authority = authority
        self.port = settings.port
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.minimum_version = ssl.TLSVersion.TLSv1_2
        _load(self.tls, authority, settings.server_names)
        self._runner = web.AppRunner(make_app(reviewer), access_log=None)

    async def start(self) -> int:
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, self.settings.host, self.settings.port, ssl_context=self.tls
        )
        await site.start()
        for address in self._runner.addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                self.port = int(address[1])
                break
        log.info("admission webhook on https://%s:%d%s", self.settings.host, self.port, PATH)
        return self.port

    async def renew(self) -> None:
        """A new certificate at two thirds of each one's lifetime (runs until cancelled)."""
        while True:
            await asyncio.sleep(SERVER_LIFETIME.total_seconds() * 2 / 3)
            _load(self.tls, self.authority, self.settings.server_names)
            log.info("admission webhook certificate renewed")

    async def stop(self) -> None:
        await self._runner.cleanup()


async def start_webhook(
    settings: WebhookSettings, client: AsyncClient, current: Current, authority: Authority
) -> Callable[[], Awaitable[None]]:
    """Serve the webhook from the controller's view `current`, with a certificate from
    `authority`; returns its stop function."""
    reviewer = Reviewer(current, settings.budget_s, settings.settle_s)
    server = WebhookServer(reviewer, settings, authority)
    await server.start()
    tasks = [
        asyncio.create_task(server.renew(), name="webhook-renew"),
        asyncio.create_task(reviewer.keep_warm(), name="webhook-warm"),
    ]
    if settings.configuration:
        keeper = keep_ca_bundle(client, settings.configuration, authority.cert_pem)
        tasks.append(asyncio.create_task(keeper, name="webhook-ca-bundle"))

    async def stop() -> None:
        for task in tasks:
            task.cancel()
        await server.stop()
        reviewer.close()

    return stop
