"""Traffic through Envoy, programmed by `hatchway controller`, to EndpointSlice endpoints that
are echo servers on test hosts (network namespaces), and endpoint changes that converge."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

import pytest
from lightkube import Client
from lightkube.types import PatchType

from manifests import Doc, endpoint_slice

from .conftest import ControllerProcess, EchoHost, free_port
from .test_controller_k8s import RES, create, objects, wait_for

pytestmark = pytest.mark.k8s


def slice_for(ns: str, hosts: list[EchoHost]) -> Doc:
    port = {"name": "http", "port": 8080, "protocol": "TCP"}
    return endpoint_slice("echo-1", "echo", port, True, ns, [h.ip for h in hosts])


def fetch(port: int, path: str) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:
            return str(resp.read().decode())
    except OSError as exc:
        return f"error: {exc}"


def test_traffic_reaches_endpointslice_endpoints(
    client: Client,
    ns: str,
    echo_hosts: list[EchoHost],
    start_controller: Callable[[], ControllerProcess],
) -> None:
    port = free_port()
    start_controller()
    for body in [*objects(ns, f"gc-{ns}", port), slice_for(ns, echo_hosts)]:
        create(client, body)

    def answers() -> set[str]:
        return {fetch(port, "/hello").rsplit(" ", 1)[0] for _ in range(12)}

    # Both endpoints serve (round robin over the slice).
    seen = wait_for(
        "both echo hosts", lambda: (a := answers()) >= {"echo host1", "echo host2"} and a
    )
    assert seen == {"echo host1", "echo host2"}
    assert fetch(port, "/hello").endswith(" /hello")

    # The slice shrinks to host2: Envoy follows, nothing reaches host1 any more.
    client.patch(
        RES["EndpointSlice"],
        "echo-1",
        {"endpoints": slice_for(ns, echo_hosts[1:])["endpoints"]},
        namespace=ns,
        patch_type=PatchType.MERGE,
    )
    wait_for("only host2", lambda: answers() == {"echo host2"})
    client.delete(RES["Gateway"], "gw", namespace=ns)
    client.delete(RES["GatewayClass"], f"gc-{ns}")
