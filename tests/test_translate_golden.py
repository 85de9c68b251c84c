"""Golden cases: tests/golden/translate/<case>/input.yaml -> status.yaml + ir.yaml.

An optional settings.yaml holds what a runtime would pass in `Settings` (`bind_address`,
`usable_addresses`, `assigned_addresses` as a list of {namespace, name, address},
`refused_routes` as a list of {kind, namespace, name, message}, `service_cidrs`,
`cluster_ips` as a list of {namespace, name, addresses}, `per_gateway_sockets`,
`gateway_addresses` as a list of {namespace, name, bind, reported: [{type, value}], unusable,
pending}), and `observed_at`: when the edge read the objects (`Snapshot.observed_at`, what
certificate expiry is judged against)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from conftest import GoldenLayout, check_golden
from hatchway.render import dump_yaml, ir_to_dicts, report_to_dicts
from hatchway.translate import Settings, translate
from hatchway.translate.settings import GatewayAddresses
from snapshots import file_snapshot

CASES = Path(__file__).parent / "golden" / "translate"
LAYOUT = GoldenLayout(
    CASES, "input.yaml", frozenset({"status.yaml", "ir.yaml"}), frozenset({"settings.yaml"})
)


def load(path: Path) -> object:
    return file_snapshot(path)


def load_settings(path: Path) -> Settings:
    if not path.exists():
        return Settings()
    raw = dict(yaml.safe_load(path.read_text()) or {})
    raw.pop("observed_at", None)  # the snapshot's, see `observed_at`
    assigned = {
        (a["namespace"], a["name"]): a["address"] for a in raw.pop("assigned_addresses", [])
    }
    usable = raw.pop("usable_addresses", None)
    cluster_ips = {
        (a["namespace"], a["name"]): tuple(a["addresses"]) for a in raw.pop("cluster_ips", [])
    }
    service_cidrs = tuple(raw.pop("service_cidrs", ()))
    refused = {
        (r["kind"], r["namespace"], r["name"]): r["message"] for r in raw.pop("refused_routes", [])
    }
    known = {
        (g["namespace"], g["name"]): GatewayAddresses(
            bind=tuple(g["bind"]),
            reported=tuple((a["type"], a["value"]) for a in g.get("reported", [])),
            unusable=tuple(g.get("unusable", [])),
            pending=g.get("pending"),
        )
        for g in raw.pop("gateway_addresses", [])
    }
    return Settings(
        gateway_addresses=known,
        assigned_addresses=assigned,
        refused_routes=refused,
        usable_addresses=None if usable is None else tuple(usable),
        cluster_ips=cluster_ips,
        service_cidrs=service_cidrs,
        **raw,
    )


def observed_at(path: Path) -> datetime | None:
    """When the edge read the objects (`Snapshot.observed_at`), if settings.yaml says."""
    raw = yaml.safe_load(path.read_text()) if path.exists() else None
    when = (raw or {}).get("observed_at")
    return when if isinstance(when, datetime) else None


@pytest.mark.parametrize("case", LAYOUT.cases())
def test_golden(case: str, update_golden: bool) -> None:
    snapshot = load(CASES / case / "input.yaml")
    snapshot = dataclasses.replace(
        snapshot, observed_at=observed_at(CASES / case / "settings.yaml")
    )  # type: ignore[type-var]
    out = translate(snapshot, load_settings(CASES / case / "settings.yaml"))  # type: ignore[arg-type]
    outputs = {
        "status.yaml": dump_yaml(report_to_dicts(out.report)),
        "ir.yaml": dump_yaml(ir_to_dicts(out.ir)),
    }
    assert set(outputs) == LAYOUT.outputs
    for name, text in outputs.items():
        check_golden(CASES / case / name, text, update_golden)
