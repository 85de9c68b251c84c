"""Golden cases: tests/golden/provision/<case>/input.yaml (a Gateway, optionally the class's
and the Gateway's GatewayParameters) -> objects.yaml, the objects the controller applies."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import GoldenLayout, check_golden
from hatchway.provision import ListenerPort, ProvisionSettings, container_ports, desired_objects
from hatchway.render import dump_yaml
from hatchway.translate.params import effective
from snapshots import file_snapshot

CASES = Path(__file__).parent / "golden" / "provision"
LAYOUT = GoldenLayout(CASES, "input.yaml", frozenset({"objects.yaml"}))
SETTINGS = ProvisionSettings(
    image="registry.example.com/hatchway:0.1.0",
    xds_address="hatchway.hatchway-system.svc:18000",
    xds_ca_pem="-----BEGIN CERTIFICATE-----\n(the controller's CA)\n-----END CERTIFICATE-----\n",
)


def _objects(case: str) -> list[dict[str, object]]:
    snap = file_snapshot(CASES / case / "input.yaml")
    (gw,) = snap.gateways
    params = {p.metadata.name: p for p in snap.gateway_parameters}
    spec = effective(params.get("class-defaults"), params.get("big"))
    ports = [
        ListenerPort(lis.port, "UDP" if lis.protocol == "UDP" else "TCP")
        for lis in gw.spec.listeners
    ]
    return desired_objects(gw, spec, ports, SETTINGS)


@pytest.mark.parametrize("case", LAYOUT.cases())
def test_golden(case: str, update_golden: bool) -> None:
    (name,) = LAYOUT.outputs
    check_golden(CASES / case / name, dump_yaml(_objects(case)), update_golden)


def test_names_fit_kubernetes_limits() -> None:
    for case in LAYOUT.cases():
        for obj in _objects(case):
            meta = obj["metadata"]
            assert isinstance(meta, dict)
            assert len(meta["name"]) <= 63 and meta["name"][0].isalpha(), meta["name"]
            assert all(len(v) <= 63 for v in meta["labels"].values())


def test_privileged_and_reserved_ports_move_and_nothing_collides() -> None:
    ports = [ListenerPort(p, "TCP") for p in (80, 443, 10080, 19001, 8080)]
    ports.append(ListenerPort(80, "UDP"))
    mapped = container_ports(ports)
    assert mapped[ListenerPort(80, "TCP")] == mapped[ListenerPort(80, "UDP")] == 10081
    assert mapped[ListenerPort(443, "TCP")] == 10443
    assert mapped[ListenerPort(10080, "TCP")] == 10080
    assert mapped[ListenerPort(8080, "TCP")] == 8080
    assert mapped[ListenerPort(19001, "TCP")] == 29001  # 20000 + 19001 % 10000
    numbers = {lp.port: port for lp, port in mapped.items()}
    assert len(set(numbers.values())) == len(numbers)
    assert all(port >= 1024 and port != 19001 for port in numbers.values())
