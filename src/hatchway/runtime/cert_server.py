"""The controller's certificate endpoint: `POST /v1/certificates` signs a proxy's key.

The request carries the proxy Pod's ServiceAccount token (audience `hatchway.dev/xds`) and a
certificate request. The token is checked by the API server (a TokenReview); its
ServiceAccount must be the one the controller provisioned for the Gateway the request names.
Only then is a short-lived certificate naming that Gateway signed. Served over TLS with the
controller's own certificate, so the proxy (which trusts the CA from its Pod spec) knows whom
it sends its token to.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from hatchway.pki import Authority
from hatchway.sources import clock

log = logging.getLogger("hatchway.certs")

AUDIENCE = "hatchway.dev/xds"
SA_PREFIX = "system:serviceaccount:"

# token -> the authenticated username (None: the token is not valid for AUDIENCE)
Review = Callable[[str], Awaitable[str | None]]
# (namespace, ServiceAccount name) -> the Gateway name it was provisioned for, if any
GatewayOf = Callable[[str, str], str | None]


@dataclass
class CertificateService:
    authority: Authority
    review: Review
    gateway_of: GatewayOf
    issued: int = 0
    refused: int = 0

    async def sign(self, token: str, gateway: str, csr: str) -> dict[str, str]:
        """The certificate for `gateway` (namespace/name), or PermissionError saying why not."""
        username = await self.review(token)
        if username is None or not username.startswith(SA_PREFIX):
            raise PermissionError("the token is not a valid ServiceAccount token for " + AUDIENCE)
        namespace, _, account = username[len(SA_PREFIX) :].partition(":")
        gw_ns, sep, gw_name = gateway.partition("/")
        if not sep or gw_ns != namespace:
            raise PermissionError(f"{username} may not ask for Gateway {gateway[:300]}")
        if self.gateway_of(namespace, account) != gw_name:
            raise PermissionError(f"{username} is not the ServiceAccount of Gateway {gateway}")
        cert = self.authority.sign_proxy(csr.encode(), gw_ns, gw_name, clock.now())
        return {"certificate": cert.decode(), "ca": self.authority.cert_pem.decode()}


def make_app(service: CertificateService) -> web.Application:
    async def certificates(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return _refuse(service, 401, "a ServiceAccount token (Authorization: Bearer) is needed")
        try:
            body: Any = await request.json()
            gateway, csr = str(body["gateway"]), str(body["csr"])
        except (ValueError, KeyError, TypeError):
            return _refuse(service, 400, "expected JSON {gateway, csr}")
        try:
            answer = await service.sign(auth.removeprefix("Bearer ").strip(), gateway, csr)
        except PermissionError as exc:
            return _refuse(service, 403, str(exc))
        except ValueError as exc:
            return _refuse(service, 400, f"bad certificate request: {exc}")
        service.issued += 1
        log.info("signed an xDS certificate for Gateway %s", gateway)
        return web.json_response(answer)

    app = web.Application(client_max_size=64 << 10)
    app.router.add_post("/v1/certificates", certificates)
    return app


def _refuse(service: CertificateService, status: int, message: str) -> web.Response:
    service.refused += 1
    log.warning("refused a certificate request (%d): %s", status, message)
    return web.json_response({"error": message}, status=status)


class CertificateServer:
    def __init__(
        self, service: CertificateService, host: str, port: int, tls: ssl.SSLContext
    ) -> None:
        self.host, self.port, self._tls = host, port, tls
        self._runner = web.AppRunner(make_app(service), access_log=None)

    async def start(self) -> int:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self._tls)
        await site.start()
        for address in self._runner.addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                self.port = int(address[1])
                break
        log.info("certificate endpoint on https://%s:%d", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        await self._runner.cleanup()
