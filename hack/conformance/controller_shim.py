"""`hatchway controller` with one address per Gateway — a stop-gap for the conformance run.

The suite reaches every Gateway at the first typed `status.addresses` entry and many Gateways
listen on the same port (80, 443), so each needs an address of its own. Until the controller
can allocate them itself (requested: an address pool option), this wrapper gives every
Gateway without a usable `spec.addresses` value a stable loopback address from a pool, by
adding it to the Gateway as the controller's cache hands it to translation. Nothing is written
to the API server: the Gateway's spec is untouched; translation binds its listeners there and
reports the address in status, as it does for a Gateway that asked for that address.

It also works around one controller bug found by this run, until it is fixed: an
EndpointSlice whose `endpoints` or `ports` is null (what kube-controller-manager writes for a
Service without ready Pods) fails validation, and any invalid object freezes the whole
configuration ("still serving generation N"). Here such nulls are read as empty lists.

    python hack/conformance/controller_shim.py --kubeconfig F [hatchway controller flags]
    HWCONF_GATEWAY_POOL=127.10.0.0/16 (default)
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import os
import sys
from collections.abc import Iterator
from typing import Any

from hatchway.cli.controller import main
from hatchway.model.inputs import Document
from hatchway.sources import kube


class AddressPool:
    """One address per Gateway uid, handed out in order and never reused within a run."""

    def __init__(self, cidr: str) -> None:
        self._hosts: Iterator[ipaddress.IPv4Address | ipaddress.IPv6Address] = ipaddress.ip_network(
            cidr
        ).hosts()
        self._given: dict[str, str] = {}

    def address(self, uid: str) -> str:
        if uid not in self._given:
            self._given[uid] = str(next(self._hosts))
        return self._given[uid]


def with_address(body: dict[str, Any], pool: AddressPool) -> dict[str, Any]:
    """The Gateway with an allocated IPAddress where it names none or leaves the value empty."""
    spec = body.get("spec") or {}
    addresses = spec.get("addresses") or []
    uid = str((body.get("metadata") or {}).get("uid") or id(body))
    if not addresses:
        filled = [{"type": "IPAddress", "value": pool.address(uid)}]
    elif any(a.get("type", "IPAddress") == "IPAddress" and not a.get("value") for a in addresses):
        filled = [
            {**a, "value": pool.address(uid)}
            if a.get("type", "IPAddress") == "IPAddress" and not a.get("value")
            else a
            for a in addresses
        ]
    else:
        return body
    out = copy.copy(body)
    out["spec"] = {**spec, "addresses": filled}
    return out


def without_nulls(body: dict[str, Any]) -> dict[str, Any]:
    """An EndpointSlice with null `endpoints`/`ports` read as empty lists."""
    if body.get("endpoints") is not None and body.get("ports") is not None:
        return body
    return {**body, "endpoints": body.get("endpoints") or [], "ports": body.get("ports") or []}


def _adjust(body: object, pool: AddressPool) -> object:
    if not isinstance(body, dict):
        return body
    if body.get("kind") == "Gateway":
        return with_address(body, pool)
    if body.get("kind") == "EndpointSlice":
        return without_nulls(body)
    return body


def install(pool: AddressPool) -> None:
    original = kube.ObjectCache.documents

    def documents(self: kube.ObjectCache) -> list[Document]:
        docs = original(self)
        return [dataclasses.replace(d, body=_adjust(d.body, pool)) for d in docs]

    kube.ObjectCache.documents = documents  # type: ignore[method-assign]


if __name__ == "__main__":
    install(AddressPool(os.environ.get("HWCONF_GATEWAY_POOL", "127.10.0.0/16")))
    sys.exit(main(sys.argv[1:]))
