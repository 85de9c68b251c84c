"""Controller mode's default data plane: every accepted Gateway gets proxies of its own.

The controller (every replica) serves xDS over mutual TLS and signs the proxies'
certificates; the leader provisions each Gateway's ServiceAccount, Envoy Deployment,
PodDisruptionBudget and LoadBalancer Service (`provision`, `sources.provisioner`). A Gateway's
addresses come from its Service's load balancer and enter translation through its settings;
`Programmed` is True once one of its proxies runs the newest configuration.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import ssl
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightkube import AsyncClient
from lightkube.models.authentication_v1 import TokenReviewSpec
from lightkube.resources.authentication_v1 import TokenReview

from hatchway.ads.tenants import Tenant, tenant_of
from hatchway.ads.verdict import AckState, Outcome
from hatchway.model.gateway import Gateway
from hatchway.model.snapshot import Snapshot
from hatchway.pki import Authority, gateway_of
from hatchway.provision import ListenerPort, ProvisionSettings, desired_objects
from hatchway.provision.names import base_name
from hatchway.runtime import console
from hatchway.runtime.admin import Readiness
from hatchway.runtime.cert_server import AUDIENCE, CertificateServer, CertificateService
from hatchway.runtime.engine import Engine
from hatchway.runtime.metrics import Metrics
from hatchway.runtime.pipeline import Pipeline
from hatchway.runtime.publisher import Published, Publisher
from hatchway.runtime.xds_server import XdsServer
from hatchway.sources import clock
from hatchway.sources.file_source import InputSource
from hatchway.sources.provisioner import Provisioner
from hatchway.translate import GatewayAddresses
from hatchway.translate import Settings as TranslateSettings
from hatchway.translate.params import class_params, effective, gateway_params

log = logging.getLogger("hatchway.provisioned")

Body = Mapping[str, Any] | None
ObjectOf = Callable[[str, str, str], Body]  # (kind, namespace, name) -> its body in the cache


@dataclass(frozen=True)
class ProvisionedSettings:
    xds_listen: tuple[str, int]  # where the controller serves xDS (certificates on port + 1)
    xds_service: tuple[str, int]  # the controller's Service, as the proxies dial it
    proxy_image: str
    controller_name: str


def dns_names(host: str) -> list[str]:
    """The names a proxy may reach the controller's Service by."""
    names = [host]
    parts = host.split(".")
    if len(parts) >= 2:
        names += [".".join(parts[:2]), f"{'.'.join(parts[:2])}.svc"]
        names.append(f"{'.'.join(parts[:2])}.svc.cluster.local")
    return list(dict.fromkeys(names))


class ProvisionedPlane:
    def __init__(
        self,
        client: AsyncClient,
        settings: ProvisionedSettings,
        authority: Authority,
        source: InputSource,
        stats: Metrics,
    ) -> None:
        self.client = client
        self.settings = settings
        self.authority = authority
        self.stats = stats
        self.xds = XdsServer(self._admit, on_event=stats.answered)
        self.engine = Engine(
            source,
            Pipeline(TranslateSettings(per_gateway_sockets=True)),
            Publisher(self.xds),
            stats,
        )
        self.provisioner = Provisioner(client)
        self.certs = CertificateService(authority, self._review, self._gateway_of_account)
        self._cert_server: CertificateServer | None = None
        self._snapshot = Snapshot()
        host, port = settings.xds_service
        self.provision = ProvisionSettings(
            image=settings.proxy_image,
            xds_address=f"{host}:{port}",
            xds_ca_pem=authority.cert_pem.decode(),
        )
        self.failures: list[str] = []
        # Gateways with a ready proxy Pod (as of the newest translation settings).
        self._ready: frozenset[Tenant] = frozenset()
        # Seconds after which the translation settings should be computed again (a requested
        # address the load balancer may still assign); None: nothing pending.
        self.recheck_in: float | None = None

    # --- serving xDS and certificates -------------------------------------------------------

    async def start(self) -> None:
        host, port = self.settings.xds_listen
        cert, key = self.authority.server_certificate(
            dns_names(self.settings.xds_service[0]), clock.now()
        )
        bound = await self.xds.start_tls(host, port, cert, key, self.authority.cert_pem)
        self._cert_server = CertificateServer(self.certs, host, bound + 1, _tls(cert, key))
        await self._cert_server.start()

    async def stop(self) -> None:
        self.engine.stop()
        if self._cert_server is not None:
            await self._cert_server.stop()
        await self.xds.stop()

    def _admit(self, node: str, peer: Mapping[str, list[bytes]]) -> Tenant | None:
        """A proxy whose client certificate names a Gateway gets that Gateway's resources;
        its node id must say so too (`namespace/name/pod`)."""
        pems = peer.get("x509_pem_cert") or []
        gateway = gateway_of(pems[0]) if pems else None
        if gateway is None:
            return None
        tenant = tenant_of(gateway)
        return tenant if node.startswith(f"{tenant}/") else None

    async def _review(self, token: str) -> str | None:
        review = TokenReview(spec=TokenReviewSpec(token=token, audiences=[AUDIENCE]))
        answer = await self.client.create(review)
        status = answer.status
        if status is None or not status.authenticated or status.user is None:
            return None
        if AUDIENCE not in (status.audiences or []):
            return None
        return status.user.username

    def _gateway_of_account(self, namespace: str, account: str) -> str | None:
        """The Gateway whose data plane runs as this ServiceAccount (ours, accepted or not)."""
        for gw in self._ours(self._snapshot):
            if (
                gw.metadata.namespace == namespace
                and base_name(namespace, gw.metadata.name) == account
            ):
                return gw.metadata.name
        return None

    # --- translation settings ---------------------------------------------------------------

    def settings_for(self, snapshot: Snapshot, object_of: ObjectOf) -> TranslateSettings:
        """Per-Gateway sockets, and each Gateway's addresses as its Service's load balancer
        has them, and whether a replica of its Deployment is ready."""
        self._snapshot = snapshot
        self.recheck_in = None
        now = clock.now()
        known = {}
        ready: set[Tenant] = set()
        for gw in self._ours(snapshot):
            ns, name = gw.metadata.namespace, gw.metadata.name
            base = base_name(ns, name)
            addresses = _addresses(gw, object_of("Service", ns, base), now)
            if addresses.pending is not None and gw.spec.addresses:
                # Judged again once the load balancer has had its time.
                self.recheck_in = ALLOCATION_GRACE.total_seconds() + 0.5
            not_ready = _not_ready(object_of("Deployment", ns, base))
            known[(ns, name)] = dataclasses.replace(addresses, not_ready=not_ready)
            if not_ready is None:
                ready.add(tenant_of((ns, name)))
        self._ready = frozenset(ready)
        return TranslateSettings(
            controller_name=self.settings.controller_name,
            per_gateway_sockets=True,
            gateway_addresses=known,
        )

    def _ours(self, snapshot: Snapshot) -> list[Gateway]:
        classes = {
            gc.metadata.name
            for gc in snapshot.gateway_classes
            if gc.spec.controller_name == self.settings.controller_name
        }
        return [g for g in snapshot.gateways if g.spec.gateway_class_name in classes]

    # --- provisioning (the leader) ----------------------------------------------------------

    async def provision_all(self) -> list[str]:
        """Apply the data plane of every accepted Gateway of ours; remove the rest."""
        published = self.engine.published
        if published is None:
            return []
        # The newest objects (a parameters change alone changes no configuration, so it is
        # not published), with the ports and acceptance of the newest publication.
        snapshot = self._snapshot
        accepted = _accepted_gateways(published.status)
        classes = {gc.metadata.name: gc for gc in snapshot.gateway_classes}
        desired: list[dict[str, Any]] = []
        for gw in self._ours(snapshot):
            key = (gw.metadata.namespace, gw.metadata.name)
            if key not in accepted:
                continue
            gc = classes.get(gw.spec.gateway_class_name)
            of_class = class_params(snapshot, gc) if gc is not None else None
            of_gateway = gateway_params(snapshot, gw)
            params = effective(
                None if isinstance(of_class, str) else of_class,
                None if isinstance(of_gateway, str) else of_gateway,
            )
            desired += desired_objects(gw, params, self._ports(gw, published), self.provision)
        self.failures = await self.provisioner.sync(desired)
        for line in self.failures:
            log.warning("provisioning: %s", line)
        return self.failures

    def _ports(self, gw: Gateway, published: Published) -> list[ListenerPort]:
        """The ports its proxies listen on: those of its listeners that are programmed."""
        ir = published.irs.get(tenant_of((gw.metadata.namespace, gw.metadata.name)))
        if ir is None:
            return []
        return [
            ListenerPort(lis.port, "UDP" if lis.protocol.value == "UDP" else "TCP")
            for lis in ir.listeners
        ]

    # --- admin view -------------------------------------------------------------------------

    def served_elsewhere(self) -> dict[Tenant, Outcome]:
        """Gateways whose proxies all stream from other replicas (every replica serves xDS;
        the Service picks one per proxy), with a ready proxy Pod: they run a configuration,
        though this replica cannot see which. A proxy Pod is ready only once its Envoy runs a
        configuration from a controller (`runtime.proxy`), so its readiness stands in for
        the ACK this replica never receives; without it their Programmed would wait on this
        replica for ever. What such a proxy rejects is logged by the replica it streams from."""
        gen = self.engine.generation
        return {t: Outcome(AckState.ACKED, gen) for t in self._ready if not self.xds.connected(t)}

    def status(self, *, stamped: bool = True) -> dict[str, Any]:
        return self.engine.status(self.served_elsewhere(), stamped=stamped)

    def errors(self) -> list[dict[str, Any]]:
        return self.engine.errors() + [
            {"kind": None, "message": f"provisioning: {line}", "code": "ProvisioningFailed"}
            for line in self.failures
        ]

    def config(self) -> dict[str, Any]:
        return self.engine.config()

    def topology(self) -> dict[str, Any]:
        return console.topology(self.engine.published)

    def explain(self, url: str, method: str, headers: list[str]) -> dict[str, Any]:
        return console.explain_request(self.engine.published, url, method, headers)

    async def metrics(self) -> bytes:
        return self.stats.render()  # per-route metrics are on each proxy Pod's scrape port

    async def envoy_metrics(self) -> bytes:
        return b"# no local Envoy: each proxy Pod serves its Envoy's stats on /metrics/envoy\n"

    def readiness(self) -> Readiness:
        if self.engine.published is None:
            return Readiness(False, "no configuration built yet", 0)
        return self.engine.serving_readiness(
            f"generation {self.engine.generation} published to {len(self.xds.tenants())} "
            f"data planes ({self.xds.streams_opened} proxy streams opened)"
        )


def _accepted_gateways(status: list[dict[str, Any]]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for res in status:
        if res.get("kind") != "Gateway":
            continue
        conditions = res.get("status", {}).get("conditions", [])
        if any(c.get("type") == "Accepted" and c.get("status") == "True" for c in conditions):
            meta = res.get("metadata", {})
            out.add((str(meta.get("namespace")), str(meta.get("name"))))
    return out


# How long a load balancer may take to assign a requested address before the Gateway says
# the address is not usable (a load balancer reports a refusal only in Events, if at all).
ALLOCATION_GRACE = dt.timedelta(seconds=5)


def _addresses(gw: Gateway, service: Body, now: dt.datetime) -> GatewayAddresses:
    """A Gateway's addresses from its Service: bound on 0.0.0.0 in its Pods, reached at the
    load balancer's. Requested IPs it did not get are unusable once it assigned something,
    or once it has had `ALLOCATION_GRACE` to assign one and did not."""
    ingress = (((service or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress")
    reported: list[tuple[str, str]] = []
    for entry in ingress or []:
        if isinstance(entry, dict):
            if entry.get("ip"):
                reported.append(("IPAddress", str(entry["ip"])))
            elif entry.get("hostname"):
                reported.append(("Hostname", str(entry["hostname"])))
    requested = [a.value for a in gw.spec.addresses if a.type == "IPAddress" and a.value]
    got = {v for _, v in reported}
    if not reported:
        if requested and now - _created(service) > ALLOCATION_GRACE:
            return GatewayAddresses(bind=("0.0.0.0",), reported=(), unusable=tuple(requested))
        pending = "waiting for the load balancer to assign the Gateway's Service an address"
        return GatewayAddresses(bind=("0.0.0.0",), reported=(), pending=pending)
    unusable = tuple(ip for ip in requested if ip not in got)
    return GatewayAddresses(bind=("0.0.0.0",), reported=tuple(reported), unusable=unusable)


def _created(obj: Body) -> dt.datetime:
    """When the object was created (now, if it does not exist yet)."""
    stamp = ((obj or {}).get("metadata") or {}).get("creationTimestamp")
    try:
        return dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return clock.now()


def _not_ready(deployment: Body) -> str | None:
    """Why no replica of a Gateway's Deployment serves yet (None: one is ready)."""
    if deployment is None:
        return "its proxy Deployment is being created"
    status = deployment.get("status") or {}
    if (status.get("readyReplicas") or 0) >= 1:
        return None
    wanted = (deployment.get("spec") or {}).get("replicas")
    return f"no proxy Pod is ready yet (0 of {wanted} ready)"


def _tls(cert: bytes, key: bytes) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # `load_cert_chain` reads files: written to a private temporary directory, then removed.
    with tempfile.TemporaryDirectory(prefix="hatchway-certs-") as d:
        (Path(d) / "tls.crt").write_bytes(cert)
        key_file = Path(d) / "tls.key"
        key_file.touch(mode=0o600)
        key_file.write_bytes(key)
        ctx.load_cert_chain(Path(d) / "tls.crt", key_file)
    return ctx
