"""`hatchway controller`: the API server in, Envoy out, status written back.

The same pipeline as `serve` (translate -> xds.build -> publish over ADS -> Envoy's verdict),
fed by informers instead of files: `GatewayRuntime` is reused as it is, with the cluster
snapshot handed to it in place of its file loader (`sources.cluster_source`). Changes are debounced
into one rebuild; after Envoy acknowledges a generation, the leader writes the statuses that
differ from what the API server holds.

Addresses: with `--gateway-address-pool`, each Gateway that names no address gets its own
(`address_pool`); requested addresses this host cannot bind are reported AddressNotUsable.
Both reach translation through its Settings, made fresh with each snapshot and handed to the
runtime with it (`Loaded.settings`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx2
from lightkube import ApiError, AsyncClient, KubeConfig
from lightkube.resources.networking_v1 import ServiceCIDR

from hatchway.ads.tenants import Tenant
from hatchway.ads.verdict import AckState
from hatchway.model.gateway import Gateway
from hatchway.model.snapshot import Snapshot
from hatchway.provision.names import base_name
from hatchway.runtime.address_pool import (
    AddressPool,
    Request,
    bindable,
    needs_address,
    reported_addresses,
    requested_ips,
)
from hatchway.runtime.admin import AdminServer
from hatchway.runtime.engine import Engine
from hatchway.runtime.metrics import Metrics
from hatchway.runtime.provisioned import ProvisionedPlane, ProvisionedSettings
from hatchway.runtime.serve import GatewayRuntime, ServeSettings
from hatchway.runtime.webhook import WebhookSettings, start_webhook
from hatchway.sources import ca_store, clock
from hatchway.sources.cluster_source import ClusterSource
from hatchway.sources.kube import (
    PROXY_DEPLOYMENTS,
    WATCHED,
    Informer,
    KindSpec,
    ObjectCache,
    discover,
)
from hatchway.sources.lease import LeaderElector
from hatchway.sources.status_writer import StatusWriter, plan
from hatchway.translate.settings import CONTROLLER_NAME, GatewayAddresses
from hatchway.translate.settings import Settings as TranslateSettings

log = logging.getLogger("hatchway.controller")

# A pause in watch events this long ends a burst (kubectl apply of many objects arrives as
# events microseconds to milliseconds apart).
QUIET_S = 0.02

# Without these there is nothing to do: the Gateway API CRDs are not installed.
REQUIRED_KINDS = ("GatewayClass", "Gateway", "HTTPRoute")


class MissingAPIs(Exception):
    """Kinds the controller cannot work without are not served by the API server."""

    def __init__(self, kinds: list[str]) -> None:
        super().__init__(
            f"the API server does not serve {', '.join(kinds)} (gateway.networking.k8s.io): "
            "the Gateway API CRDs are not installed; install them (see docs/install.md) "
            "and start the controller again"
        )


@dataclass(frozen=True)
class ControllerSettings:
    kubeconfig: str | None = None  # None: in-cluster config, else ~/.kube/config
    admin_host: str = "127.0.0.1"
    admin_port: int = 19000
    metrics_address: tuple[str, int] | None = None
    bind_address: str = "0.0.0.0"
    debounce_s: float = 0.2
    # How long a status sync waits for Envoy's verdict on the newest generation before it
    # writes Programmed=Pending (and writes again when Envoy answers). Envoy answers in
    # milliseconds; when it stalls (e.g. 15 s waiting for an EDS resource), every other status
    # change would wait too, so this stays short.
    ack_timeout_s: float = 2.0
    lease_namespace: str = "default"
    lease_name: str = "hatchway-controller"
    identity: str | None = None  # default: hostname-pid
    # Gateway `status.addresses`: given addresses win, else the Service that fronts Envoy.
    gateway_addresses: tuple[str, ...] = ()
    # One address per Gateway from this CIDR (listeners bind there; status reports it).
    gateway_address_pool: str | None = None
    envoy_service: str | None = None  # "namespace/name"
    envoy_concurrency: int | None = None
    envoy_log_level: str = "warning"
    # "embedded": one Envoy in this process serves every Gateway; "provisioned": every
    # Gateway gets its own proxies (Deployment, Service…), configured over mutual TLS.
    data_plane: str = "embedded"
    xds_listen: tuple[str, int] = ("0.0.0.0", 18000)
    xds_service: tuple[str, int] | None = None  # how proxies reach us (a Service name)
    proxy_image: str | None = None
    ca_secret: str = "hatchway-xds-ca"  # in `lease_namespace`
    webhook: WebhookSettings | None = None  # serve the admission webhook (runtime.webhook)


class Controller:
    def __init__(self, settings: ControllerSettings, client: AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self.feed = ClusterSource(TranslateSettings(bind_address=settings.bind_address))
        self.provisioned = settings.data_plane == "provisioned"
        # The embedded data plane: the engine and one local Envoy (`serve` without files).
        self.runtime = (
            None
            if self.provisioned
            else GatewayRuntime(
                ServeSettings(
                    paths=(),
                    admin_host=settings.admin_host,
                    admin_port=settings.admin_port,
                    metrics_address=settings.metrics_address,
                    bind_address=settings.bind_address,
                    watch=False,
                    envoy_concurrency=settings.envoy_concurrency,
                    envoy_log_level=settings.envoy_log_level,
                ),
                self.feed,
            )
        )
        self.plane: ProvisionedPlane | None = None  # made in run(): its CA is in the cluster
        self.stats = self.runtime.stats if self.runtime is not None else Metrics()
        self.pool = (
            AddressPool(settings.gateway_address_pool) if settings.gateway_address_pool else None
        )
        self.cache = ObjectCache(self._on_change)
        self.writer = StatusWriter(client)
        identity = settings.identity or f"{socket.gethostname()}-{os.getpid()}"
        self.elector = LeaderElector(
            client, identity, settings.lease_namespace, settings.lease_name
        )
        self.specs: dict[str, tuple[KindSpec, str]] = {}
        self.service_cidrs: tuple[str, ...] = ()
        self.informers: list[Informer] = []
        self._informer_tasks: list[asyncio.Task[None]] = []
        self._answer_watch: tuple[int, asyncio.Task[None]] | None = None
        self._rebuild = asyncio.Event()
        self._changes = 0  # counts spec changes, to tell when they pause
        self._resync = asyncio.Event()
        self.rebuilds = 0
        self.syncs = 0
        self.last_sync_clean = asyncio.Event()

    @property
    def engine(self) -> Engine:
        if self.runtime is not None:
            return self.runtime.engine
        assert self.plane is not None, "the provisioned data plane starts in run()"
        return self.plane.engine

    def _recheck(self) -> None:
        """Settings that depend on time (a load balancer's grace) are due again."""
        self._on_change("Service", True)

    def _on_change(self, kind: str, spec_changed: bool) -> None:
        self.last_sync_clean.clear()
        # A Gateway's addresses can be a Service's load balancer's (provisioned: its own;
        # embedded: `--envoy-service`'s): they enter its status through translation.
        addressed = self.provisioned or self.settings.envoy_service is not None
        if spec_changed or (addressed and kind in ("Service", "Deployment")):
            self._changes += 1
            self._rebuild.set()
        self._resync.set()

    async def start_informers(self) -> None:
        for spec in (*WATCHED, PROXY_DEPLOYMENTS) if self.provisioned else WATCHED:
            if spec.only_with is not None and spec.only_with not in self.specs:
                continue
            version = await discover(self.client, spec)
            if version is None:
                log.warning("%s is not served by the API server; not watched", spec.kind)
                continue
            self.specs[spec.kind] = (spec, version)
            self.informers.append(Informer(self.client, spec, version, self.cache))
        missing = [k for k in REQUIRED_KINDS if k not in self.specs]
        if missing:
            raise MissingAPIs(missing)
        self._informer_tasks = [
            asyncio.create_task(inf.run(), name=f"informer-{inf.spec.kind}")
            for inf in self.informers
        ]
        await asyncio.gather(*(inf.synced.wait() for inf in self.informers))
        log.info("cache synced: %d kinds", len(self.informers))

    async def refresh_snapshot(self) -> None:
        docs_cache = self.cache
        result = await asyncio.to_thread(docs_cache.parse)
        # Together, with no await between: a reload sees a snapshot with its own settings.
        self.feed.settings = self._settings_for(result.snapshot)
        if self.plane is not None and self.plane.recheck_in is not None:
            asyncio.get_running_loop().call_later(self.plane.recheck_in, self._recheck)
        self.feed.snapshot = result.snapshot
        self.feed.errors = result.errors

    def _settings_for(self, snapshot: Snapshot) -> TranslateSettings:
        """Translation settings with what only this process can know: where each Gateway is
        (its Service's load balancer; or the addresses the pool assigned and which requested
        addresses this host can bind)."""
        if self.plane is not None:
            base = self.plane.settings_for(snapshot, self.cache.get)
            # Each Gateway's own Service: its ClusterIPs are its `routability: Cluster` ones.
            return dataclasses.replace(
                base,
                cluster_trust_bundles="ClusterTrustBundle" in self.specs,
                service_cidrs=self.service_cidrs,
                cluster_ips={
                    (ns, name): self._cluster_ips(ns, base_name(ns, name))
                    for ns, name in base.gateway_addresses
                },
            )
        ours = {
            gc.metadata.name
            for gc in snapshot.gateway_classes
            if gc.spec.controller_name == CONTROLLER_NAME
        }
        gateways = [g for g in snapshot.gateways if g.spec.gateway_class_name in ours]
        requested = {ip for g in gateways for ip in requested_ips(g)}
        usable = [ip for ip in sorted(requested) if bindable(ip)]
        assigned: dict[tuple[str, str], str] = {}
        if self.pool is not None:
            usable.append(str(self.pool.network))
            assigned = self.pool.assign(
                (
                    Request(
                        (g.metadata.namespace, g.metadata.name),
                        reported_addresses(
                            self.cache.get("Gateway", g.metadata.namespace, g.metadata.name)
                        ),
                    )
                    for g in gateways
                    if needs_address(g)
                ),
                reserved=requested,
            )
        cluster_ips = self._envoy_cluster_ips()
        return TranslateSettings(
            bind_address=self.settings.bind_address,
            assigned_addresses=assigned,
            usable_addresses=tuple(usable),
            cluster_trust_bundles="ClusterTrustBundle" in self.specs,
            service_cidrs=self.service_cidrs if cluster_ips else (),
            cluster_ips={(g.metadata.namespace, g.metadata.name): cluster_ips for g in gateways},
            gateway_addresses=self._given_addresses(gateways),
        )

    def _envoy_cluster_ips(self) -> tuple[str, ...]:
        """The ClusterIPs of the Service in front of Envoy (`--envoy-service`): what a
        Gateway address with `routability: Cluster` is (GEP-5093)."""
        if not self.settings.envoy_service:
            return ()
        ns, _, name = self.settings.envoy_service.partition("/")
        return self._cluster_ips(ns, name)

    def _cluster_ips(self, namespace: str, name: str) -> tuple[str, ...]:
        spec = (self.cache.get("Service", namespace, name) or {}).get("spec") or {}
        ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
        return tuple(ip for ip in ips if ip and ip != "None")

    async def read_service_cidrs(self) -> None:
        """The cluster's ServiceCIDRs (networking.k8s.io/v1); where they cannot be read, the
        Service's ClusterIPs stand for them (the API server allocated them inside)."""
        try:
            found: list[str] = []
            async for obj in self.client.list(ServiceCIDR):
                found += list(obj.spec.cidrs or []) if obj.spec else []
            self.service_cidrs = tuple(found)
        except (ApiError, httpx2.HTTPError) as exc:
            ips = self._envoy_cluster_ips()
            self.service_cidrs = tuple(f"{ip}/{128 if ':' in ip else 32}" for ip in ips)
            log.info("ServiceCIDRs not readable (%s): ClusterIPs used as they are", exc)

    async def run(self, stop: asyncio.Event) -> int:
        await self.start_informers()
        if self.settings.envoy_service or self.provisioned:
            await self.read_service_cidrs()
        if self.provisioned:
            self.plane = await self._provisioned_plane()
        await self.refresh_snapshot()
        self._rebuild.clear()
        stop_webhook = await self._start_webhook()
        if self.runtime is not None:
            serving = asyncio.create_task(self.runtime.run(stop), name="gateway-runtime")
        else:
            serving = asyncio.create_task(self._serve_provisioned(stop), name="data-planes")
        tasks = [
            asyncio.create_task(self.elector.run(), name="leader-election"),
            asyncio.create_task(self._rebuild_loop(), name="rebuild"),
            asyncio.create_task(self._status_loop(), name="status"),
            asyncio.create_task(self._discovery_loop(), name="discovery"),
        ]
        try:
            return await serving
        finally:
            if self._answer_watch is not None:
                self._answer_watch[1].cancel()
            for t in [*tasks, *self._informer_tasks]:
                t.cancel()
            if stop_webhook is not None:
                await stop_webhook()
            await self.elector.release()

    async def _discovery_loop(self, every_s: float = 30.0) -> None:
        """Kinds the API server did not serve at start (CRDs installed later, an API such
        as ClusterTrustBundle enabled later) are looked for again now and then, and watched
        once they are: what depends on them (e.g. the ClusterTrustBundle feature) follows."""
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.watch_new_kinds()
            except (ApiError, httpx2.HTTPError, OSError) as exc:
                log.warning("looking for newly served kinds failed: %s", exc)

    async def watch_new_kinds(self) -> list[str]:
        """Start informers for watched kinds now served; their names."""
        found: list[str] = []
        for spec in WATCHED:
            if spec.kind in self.specs:
                continue
            if spec.only_with is not None and spec.only_with not in self.specs:
                continue
            version = await discover(self.client, spec)
            if version is None:
                continue
            log.info("%s is now served (%s): watching it", spec.kind, version)
            self.specs[spec.kind] = (spec, version)
            informer = Informer(self.client, spec, version, self.cache)
            self.informers.append(informer)
            self._informer_tasks.append(
                asyncio.create_task(informer.run(), name=f"informer-{spec.kind}")
            )
            await informer.synced.wait()
            found.append(spec.kind)
        if found:
            self._changes += 1
            self._rebuild.set()
        return found

    async def _provisioned_plane(self) -> ProvisionedPlane:
        s = self.settings
        if s.xds_service is None or not s.proxy_image:
            raise ValueError(
                "--data-plane provisioned needs --xds-service (how proxies reach this "
                "controller) and --proxy-image (the image they run)"
            )
        authority = await ca_store.load_or_create(self.client, s.lease_namespace, s.ca_secret)
        settings = ProvisionedSettings(s.xds_listen, s.xds_service, s.proxy_image, CONTROLLER_NAME)
        return ProvisionedPlane(self.client, settings, authority, self.feed, self.stats)

    async def _serve_provisioned(self, stop: asyncio.Event) -> int:
        """xDS and certificates for every Gateway's proxies, and the admin API, until stop."""
        assert self.plane is not None
        s = self.settings
        admin = AdminServer(self.plane, s.admin_host, s.admin_port)
        scrape = (
            AdminServer(self.plane, *s.metrics_address, scrape_only=True)
            if s.metrics_address
            else None
        )
        try:
            await self.plane.start()
            await self.engine.reload()
            await admin.start()
            if scrape is not None:
                await scrape.start()
            log.info(
                "serving %d data planes; admin API on %s", len(self.plane.xds.tenants()), admin.port
            )
            await stop.wait()
            return 0
        finally:
            await admin.stop()
            if scrape is not None:
                await scrape.stop()
            await self.plane.stop()

    async def _start_webhook(self) -> Callable[[], Awaitable[None]] | None:
        """The admission webhook (runtime.webhook), if asked for: after the first snapshot,
        before which every object would look alone in the cluster."""
        s = self.settings
        if s.webhook is None:
            return None
        authority = await ca_store.load_or_create(self.client, s.lease_namespace, s.ca_secret)
        return await start_webhook(s.webhook, self.client, self._view, authority)

    def _view(self) -> tuple[Snapshot, TranslateSettings]:
        """What the admission webhook judges objects against: the newest snapshot."""
        return self.feed.snapshot, self.feed.settings

    async def _rebuild_loop(self) -> None:
        while True:
            await self._rebuild.wait()
            await self._settle()
            self._rebuild.clear()
            try:
                await self.refresh_snapshot()
                await self.engine.reload()
                self.rebuilds += 1
            except Exception as exc:  # one bad rebuild must not stop the controller
                # Reported like a failed reload (`/errors`, `/readyz`) until one succeeds.
                self.engine.reload_failed("rebuild", exc)
            self._resync.set()

    async def _settle(self) -> None:
        """Until changes pause: a burst of watch events (e.g. 1,000 routes applied) becomes
        one rebuild, a lone change goes out at once. Rebuild once no change came for
        `QUIET_S`, or `debounce_s` after the first, whichever is sooner."""
        started = time.monotonic()
        seen = self._changes
        while time.monotonic() - started < self.settings.debounce_s:
            await asyncio.sleep(QUIET_S)
            if self._changes == seen:
                return
            seen = self._changes

    async def _status_loop(self) -> None:
        while True:
            await self._resync.wait()
            await self.elector.is_leader.wait()
            await asyncio.sleep(self.settings.debounce_s)
            # No waiting for a pending rebuild: under a steady stream of changes that would
            # starve status. Each sync writes from the newest generation Envoy runs, and only
            # what differs, so an object is written again only if its status really moves.
            self._resync.clear()
            try:
                clean = await self.sync_status()
            except Exception:
                log.exception("status sync failed; retrying")
                clean = False
            if not clean:
                await asyncio.sleep(0.5)
                self._resync.set()
            elif not self._resync.is_set():
                self.last_sync_clean.set()

    async def sync_status(self) -> bool:
        """Write the statuses that differ from the API server's; True when none failed."""
        gen = self.engine.generation
        if gen == 0:
            return True
        if not self._answered(gen):
            # Programmed is only known once the data planes answered: writing now would mean
            # two writes (a provisioned Gateway's proxies may take a while to start: then its
            # status says Pending, and is written again when they answer).
            try:
                await asyncio.wait_for(self._answers(gen), self.settings.ack_timeout_s)
            except TimeoutError:
                log.info("data planes have not answered generation %d; writing status", gen)
                self._resync_when_answered(gen)
        # Unstamped: the transition times are carried from the API server's objects.
        data_plane = self.runtime if self.runtime is not None else self.plane
        assert data_plane is not None
        status = data_plane.status(stamped=False)
        resources = list(status.get("resources", []))  # shared: copied to change
        started = time.perf_counter()
        writes = plan(self.cache, self.specs, resources, CONTROLLER_NAME, clock.now_rfc3339())
        failed = await self.writer.write_all(writes) if writes else 0
        owned = {str(r["metadata"]["name"]) for r in resources if r.get("kind") == "GatewayClass"}
        if "GatewayClass" in self.specs:
            spec, version = self.specs["GatewayClass"]
            await self.writer.sync_finalizers(self.cache, spec, version, owned)
        if self.plane is not None:
            failed += len(await self.plane.provision_all())
        self.syncs += 1
        log.info(
            "status synced for generation %d: %d written, %d to retry (%.0f ms)",
            gen,
            len(writes) - failed,
            failed,
            (time.perf_counter() - started) * 1000,
        )
        return failed == 0

    def _awaited(self) -> list[Tenant]:
        """The data planes whose answers this replica can hear: not those streaming from
        another replica (`ProvisionedPlane.served_elsewhere`)."""
        published = self.engine.published
        elsewhere = self.plane.served_elsewhere() if self.plane is not None else {}
        return [t for t in published.snapshots if t not in elsewhere] if published else []

    def _answered(self, gen: int) -> bool:
        publisher = self.engine.publisher
        return all(publisher.outcome(t, gen).state is not AckState.PENDING for t in self._awaited())

    async def _answers(self, gen: int) -> None:
        """Until every data plane answered `gen` (ACK or NACK)."""
        server = self.engine.publisher.server
        for tenant in self._awaited():
            await server.wait_acked(gen, tenant)

    def _resync_when_answered(self, gen: int) -> None:
        """Status went out with Programmed=Pending: sync again once Envoy answers `gen` (or a
        newer generation), whether or not anything else changes meanwhile."""
        if self._answer_watch is not None:
            watched, task = self._answer_watch
            if watched >= gen and not task.done():
                return
            task.cancel()

        async def watch() -> None:
            await self._answers(gen)
            self._resync.set()

        self._answer_watch = (gen, asyncio.create_task(watch(), name=f"answer-{gen}"))

    def _given_addresses(self, gateways: list[Gateway]) -> dict[tuple[str, str], GatewayAddresses]:
        """What the embedded data plane is reached at, for each Gateway that requests no
        address: `--gateway-address`, else the load balancer of `--envoy-service`, else its
        ClusterIPs (which carry the Cluster guarantee, GEP-5093). None with a pool: the pool's
        addresses are the real ones."""
        values: list[str] = list(self.settings.gateway_addresses)
        routability = ""
        if self.pool is not None:
            return {}
        if not values and self.settings.envoy_service:
            ns, _, name = self.settings.envoy_service.partition("/")
            svc = self.cache.get("Service", ns, name) or {}
            for ing in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
                values += [v for v in (ing.get("ip"), ing.get("hostname")) if v]
            if not values:
                values, routability = list(self._cluster_ips(ns, name)), "Cluster"
        if not values:
            return {}
        given = GatewayAddresses(
            bind=(self.settings.bind_address,),
            reported=tuple((_address_type(v), v) for v in values),
            routability=routability,
        )
        return {
            (g.metadata.namespace, g.metadata.name): given for g in gateways if not g.spec.addresses
        }


def _address_type(value: str) -> str:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in value else socket.AF_INET, value)
    except OSError:
        return "Hostname"
    return "IPAddress"


async def run_controller(settings: ControllerSettings, stop: asyncio.Event) -> int:
    config = (
        KubeConfig.from_file(settings.kubeconfig) if settings.kubeconfig else KubeConfig.from_env()
    )
    client = AsyncClient(config, field_manager="hatchway")
    try:
        return await Controller(settings, client).run(stop)
    finally:
        await client.close()
