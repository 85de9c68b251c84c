"""`python -m rig.lb --kubeconfig F --pool CIDR`: the rig's load-balancer allocator.

What a cloud provider's service controller does for `type: LoadBalancer` Services, on one
machine: each such Service without a `spec.loadBalancerClass` gets an address of the rig's pool
in `status.loadBalancer.ingress` (ipMode VIP, so kube-proxy forwards it to the endpoints: the
host routes the pool into the node's network namespace). `spec.loadBalancerIP` is honoured when
it is a free address of the pool; otherwise the Service gets no address and a Warning Event
saying why. Addresses are freed when the Service is deleted or stops being a LoadBalancer, and
rebuilt from the Services' status at start, so a restart keeps every assignment.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lightkube import ApiError, Client, KubeConfig
from lightkube.models.core_v1 import EventSource, ObjectReference
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Event, Service
from lightkube.types import PatchType

log = logging.getLogger("rig.lb")
COMPONENT = "hatchway-rig-lb"


@dataclass(frozen=True)
class Decision:
    ip: str | None
    problem: str | None = None


class Pool:
    """Which Service (`namespace/name`) holds which address of the pool. No I/O."""

    def __init__(self, cidr: str) -> None:
        self.network = ipaddress.ip_network(cidr)
        self.owner: dict[str, str] = {}  # address -> service key
        self.held: dict[str, str] = {}  # service key -> address

    def _usable(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return ip in self.network and ip not in (
            self.network.network_address,
            self.network.broadcast_address,
        )

    def restore(self, key: str, address: str) -> bool:
        """Take back an address a Service's status already shows (after a restart)."""
        if not self._usable(address) or self.owner.get(address, key) != key:
            return False
        self.release(key)
        self.owner[address], self.held[key] = key, address
        return True

    def release(self, key: str) -> str | None:
        address = self.held.pop(key, None)
        if address is not None:
            self.owner.pop(address, None)
        return address

    def decide(self, key: str, requested: str | None) -> Decision:
        if requested:
            if not self._usable(requested):
                self.release(key)
                return Decision(
                    None, f"requested address {requested} is not in the pool {self.network}"
                )
            holder = self.owner.get(requested)
            if holder not in (None, key):
                self.release(key)
                return Decision(
                    None, f"requested address {requested} is in use by Service {holder}"
                )
            self.restore(key, requested)
            return Decision(requested)
        if key in self.held:
            return Decision(self.held[key])
        for ip in self.network.hosts():
            if str(ip) not in self.owner:
                self.restore(key, str(ip))
                return Decision(str(ip))
        return Decision(None, f"the pool {self.network} is exhausted")


def _key(svc: dict[str, Any]) -> str:
    return f"{svc['metadata']['namespace']}/{svc['metadata']['name']}"


def wants_address(svc: dict[str, Any]) -> bool:
    spec = svc.get("spec") or {}
    return spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass")


def ingress_ips(svc: dict[str, Any]) -> list[str]:
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [str(i["ip"]) for i in ingress if i.get("ip")]


class Allocator:
    def __init__(self, client: Client, pool: Pool) -> None:
        self.client = client
        self.pool = pool
        self.reported: dict[str, str] = {}  # service key -> last problem told in an Event
        self.waiting: dict[str, dict[str, Any]] = {}  # services without an address, retried

    def restore_all(self) -> None:
        for obj in self.client.list(Service, namespace="*"):
            svc = obj.to_dict()
            if wants_address(svc):
                for ip in ingress_ips(svc):
                    self.pool.restore(_key(svc), ip)

    def reconcile(self, svc: dict[str, Any]) -> None:
        key = _key(svc)
        if not wants_address(svc):
            self.waiting.pop(key, None)
            freed = self.pool.release(key)
            if freed is not None:
                if freed in ingress_ips(svc):
                    self._write(svc, None)
                self._retry_waiting()
            return
        decision = self.pool.decide(key, (svc.get("spec") or {}).get("loadBalancerIP"))
        self._write(svc, decision.ip)
        if decision.problem is None:
            self.reported.pop(key, None)
            self.waiting.pop(key, None)
            return
        self.waiting[key] = svc
        if self.reported.get(key) != decision.problem:
            self.reported[key] = decision.problem
            self._event(svc, decision.problem)

    def forget(self, svc: dict[str, Any]) -> None:
        freed = self.pool.release(_key(svc))
        self.reported.pop(_key(svc), None)
        self.waiting.pop(_key(svc), None)
        if freed is not None:
            log.info("freed %s (Service %s deleted)", freed, _key(svc))
            self._retry_waiting()

    def _retry_waiting(self) -> None:
        """An address came free: Services still waiting for one may get it now."""
        for key, svc in list(self.waiting.items()):
            try:
                meta = svc["metadata"]
                fresh = self.client.get(Service, meta["name"], namespace=meta["namespace"])
            except ApiError:
                self.waiting.pop(key, None)
                continue
            self.reconcile(fresh.to_dict())

    def _write(self, svc: dict[str, Any], ip: str | None) -> None:
        if ingress_ips(svc) == ([ip] if ip else []):
            return
        ingress = [{"ip": ip, "ipMode": "VIP"}] if ip else None
        meta = svc["metadata"]
        self.client.patch(
            Service.Status,
            meta["name"],
            {"status": {"loadBalancer": {"ingress": ingress}}},
            namespace=meta["namespace"],
            patch_type=PatchType.MERGE,
        )
        log.info("Service %s: ingress %s", _key(svc), ip or "none")

    def _event(self, svc: dict[str, Any], message: str) -> None:
        meta = svc["metadata"]
        log.warning("Service %s: %s", _key(svc), message)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = Event(
            metadata=ObjectMeta(generateName=f"{meta['name']}.", namespace=meta["namespace"]),
            involvedObject=ObjectReference(
                apiVersion="v1",
                kind="Service",
                name=meta["name"],
                namespace=meta["namespace"],
                uid=meta.get("uid"),
            ),
            reason="AllocationFailed",
            message=message,
            type="Warning",
            source=EventSource(component=COMPONENT),
            firstTimestamp=now,
            lastTimestamp=now,
            count=1,
        )
        try:
            self.client.create(event)
        except ApiError as exc:
            log.warning("event for %s not written: %s", _key(svc), exc)

    def run(self) -> None:
        while True:
            try:
                self.restore_all()
                for op, obj in self.client.watch(Service, namespace="*"):
                    svc = obj.to_dict()
                    if op == "DELETED":
                        self.forget(svc)
                    else:
                        self.reconcile(svc)
            except Exception:
                log.exception("watch failed; listing again in 1 s")
                time.sleep(1)


def main() -> None:
    p = argparse.ArgumentParser(prog="rig.lb")
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--pool", required=True, help="the addresses to hand out (a CIDR)")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    client = Client(KubeConfig.from_file(args.kubeconfig), field_manager=COMPONENT)
    log.info("allocating LoadBalancer addresses from %s", args.pool)
    Allocator(client, Pool(args.pool)).run()


if __name__ == "__main__":
    main()
