"""The identity Envoy's logs and stats carry: from the IR, for Gateways and ListenerSets, and
the access loggers each setting turns on or off (what Envoy does with them: e2e tests)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml
from envoy.config.route.v3 import route_components_pb2
from google.protobuf import json_format  # type: ignore[import-untyped]

from hatchway import xds
from hatchway.ir import IR, Origin
from hatchway.ir.codec import from_dict
from hatchway.xds.names import backend_of
from hatchway.xds.telemetry import AccessLog, gateway_of, listener_label, owner_of
from snapshots import parse_file

GOLDEN = Path(__file__).parents[2] / "golden"


def _ir(path: Path) -> IR:
    return from_dict(IR, yaml.safe_load(path.read_text()))


def _hcm_logs(config: dict[str, Any]) -> list[str]:
    chain = config["listeners"][0]["filter_chains"][0]
    hcm = next(f for f in chain["filters"] if f["name"].endswith("http_connection_manager"))
    return [a["name"] for a in hcm["typed_config"].get("access_log", [])]


def test_a_listenerset_listener_is_named_under_its_parent_gateway() -> None:
    ir = _ir(GOLDEN / "translate" / "listenerset-basic" / "ir.yaml")
    listener = next(li for li in ir.listeners if li.listener_sets)
    ls, gateway = listener.listener_sets[0]
    owner = Origin("ListenerSet", ls.namespace, ls.name, section="extra")
    assert gateway_of(listener, owner) == f"{gateway.namespace}/{gateway.name}"
    assert listener_label(owner) == f"{ls.namespace}/{ls.name}/extra"
    own = Origin("Gateway", gateway.namespace, gateway.name, section="http")
    assert gateway_of(listener, own) == f"{gateway.namespace}/{gateway.name}"
    assert listener_label(own) == "http"
    config = xds.to_dicts(xds.build(ir))
    identities = [
        vh["metadata"]["filter_metadata"]["hatchway"]
        for rc in config["routes"]
        for vh in rc["virtual_hosts"]
    ]
    from_set = [i for i in identities if i["listener"].startswith(f"{ls.namespace}/{ls.name}/")]
    assert from_set
    assert {i["gateway"] for i in from_set} == {f"{gateway.namespace}/{gateway.name}"}


def test_every_route_and_virtual_host_says_whose_it_is() -> None:
    config = xds.to_dicts(xds.build(_ir(GOLDEN / "xds" / "virtual-hosts" / "ir.yaml")))
    for rc in config["routes"]:
        for vh in rc["virtual_hosts"]:
            ident = vh["metadata"]["filter_metadata"]["hatchway"]
            assert ident["gateway"].count("/") == 1 and ident["listener"]
            for r in vh["routes"]:
                if r.get("direct_response", {}).get("status") == 421:
                    assert "name" not in r and "metadata" not in r  # a stand-in: no route
                    continue
                # The name is the route object (`%ROUTE_NAME%`), the metadata the rest.
                route = r["metadata"]["filter_metadata"]["hatchway"]
                assert r["name"].count("/") == 1 and "route" not in route
                assert route["route_kind"] == "HTTPRoute" and isinstance(route["rule"], float)
                owner = owner_of(json_format.ParseDict(r, route_components_pb2.Route()))
                assert owner == Origin("HTTPRoute", *r["name"].split("/"))


def test_settings_turn_the_access_log_and_route_stats_on_and_off() -> None:
    ir = _ir(GOLDEN / "xds" / "http-basic" / "ir.yaml")
    default = xds.to_dicts(xds.build(ir))
    assert _hcm_logs(default) == ["envoy.access_loggers.stdout", "envoy.access_loggers.stats"]
    settings = xds.XdsSettings()
    off = dataclasses.replace(settings, access_log=None, route_stats=False)
    assert _hcm_logs(xds.to_dicts(xds.build(ir, off))) == []
    to_file = dataclasses.replace(settings, access_log=AccessLog("/var/log/a.log", "text"))
    config = xds.to_dicts(xds.build(ir, to_file))
    hcm_logs = config["listeners"][0]["filter_chains"][0]["filters"][1]["typed_config"]
    file_log = hcm_logs["access_log"][0]["typed_config"]
    assert file_log["path"] == "/var/log/a.log"
    line = file_log["log_format"]["text_format_source"]["inline_string"]
    assert line.endswith("\n") and "route=%ROUTE_NAME%" in line


def test_backend_names() -> None:
    assert backend_of("default/echo:8080") == "default/echo:8080"
    assert backend_of("default/echo:8080/h2c") == "default/echo:8080"
    assert backend_of(xds.INVALID_BACKEND_CLUSTER) is None
    assert backend_of("udp-weighted/udp/127.0.0.1/53") is None


def test_a_provisioned_data_plane_gets_its_tracing_collector() -> None:
    """Each Gateway's own proxies get only the clusters their configuration refers to: the
    collector of their XTelemetryPolicy among them (else Envoy would refuse the listener)."""
    from hatchway.ir.partition import by_owner
    from hatchway.translate import Settings, translate

    snapshot = parse_file(
        GOLDEN / "translate" / "telemetry-policy" / "input.yaml", "in.yaml"
    ).snapshot
    ir = translate(snapshot, Settings(per_gateway_sockets=True)).ir
    tenants = by_owner(ir)
    edge = tenants[("infra", "edge")]
    assert [c.name for c in edge.clusters] == ["monitoring/otel:4317/h2c"]
    (listener,) = edge.listeners
    assert listener.tracing is not None and listener.tracing.enabled
    resources = xds.build(edge)
    assert xds.validate(resources) == []
    assert "monitoring/otel:4317/h2c" in resources.clusters
    quiet = tenants[("infra", "quiet")]
    assert quiet.clusters == ()  # tracing disabled there: no collector


def test_validate_names_a_tracing_collector_that_is_not_there() -> None:
    ir = _ir(GOLDEN / "xds" / "tracing" / "ir.yaml")
    assert xds.validate(xds.build(ir)) == []
    without = dataclasses.replace(ir, clusters=())
    problems = xds.validate(xds.build(without))
    assert any("tracing refers to unknown cluster" in p.message for p in problems)


def test_a_stand_in_route_has_no_owner_and_reading_it_changes_nothing() -> None:
    stand_in = route_components_pb2.Route()
    stand_in.match.prefix = "/"
    stand_in.direct_response.status = 421
    before = stand_in.SerializeToString(deterministic=True)
    assert owner_of(stand_in) is None
    assert stand_in.SerializeToString(deterministic=True) == before
