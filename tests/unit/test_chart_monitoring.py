"""The chart's Prometheus Operator objects scrape what serves metrics: the ServiceMonitor the
controller Service's `metrics` port, the PodMonitor every provisioned proxy Pod's `metrics`
port (as the provisioner labels and names it); the dashboard ConfigMap carries the JSON."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from hatchway.provision import ListenerPort, ProvisionSettings, desired_objects
from hatchway.provision.ports import METRICS_PORT
from hatchway.translate.params import effective
from helm import helm_binary, helm_env
from snapshots import snapshot

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "hatchway"


def _render(tmp_path: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        [
            str(helm_binary()),
            "template",
            "hw",
            str(CHART),
            "--namespace",
            "hatchway-system",
            "--set",
            "metrics.serviceMonitor.enabled=true,metrics.podMonitor.enabled=true,"
            "metrics.podMonitor.envoyStats=true,metrics.grafanaDashboard.enabled=true",
        ],
        env=helm_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _proxy_deployment() -> dict[str, Any]:
    gw = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "edge", "namespace": "infra"},
        "spec": {
            "gatewayClassName": "hatchway",
            "listeners": [{"name": "web", "port": 80, "protocol": "HTTP"}],
        },
    }
    (parsed,) = snapshot([gw], "gw.yaml").gateways
    settings = ProvisionSettings(image="hatchway:test", xds_address="x:18000", xds_ca_pem="ca")
    objs = desired_objects(parsed, effective(None, None), [ListenerPort(80, "TCP")], settings)
    return next(o for o in objs if o["kind"] == "Deployment")


def test_monitors_select_what_serves_metrics(tmp_path: Path) -> None:
    docs = _render(tmp_path)
    by_kind = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    smon = next(d for d in docs if d["kind"] == "ServiceMonitor")
    svc = next(
        d
        for d in docs
        if d["kind"] == "Service"
        and _matches(smon["spec"]["selector"]["matchLabels"], d["metadata"]["labels"])
    )
    (endpoint,) = smon["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    port = next(p for p in svc["spec"]["ports"] if p["name"] == "metrics")
    controller = next(d for d in docs if d["kind"] == "Deployment")
    (container,) = controller["spec"]["template"]["spec"]["containers"]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port["targetPort"] == "metrics" and named["metrics"] == 19001
    assert "--metrics-address=0.0.0.0:19001" in container["args"]

    pmon = next(d for d in docs if d["kind"] == "PodMonitor")
    assert pmon["spec"]["namespaceSelector"] == {"any": True}
    proxy = _proxy_deployment()
    pod_labels = proxy["spec"]["template"]["metadata"]["labels"]
    assert _matches(pmon["spec"]["selector"]["matchLabels"], pod_labels)
    (proxy_container,) = proxy["spec"]["template"]["spec"]["containers"]
    assert {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"} in proxy_container[
        "ports"
    ]
    paths = [(e["port"], e["path"]) for e in pmon["spec"]["podMetricsEndpoints"]]
    assert paths == [("metrics", "/metrics"), ("metrics", "/metrics/envoy")]

    dashboard = by_kind[("ConfigMap", "hw-dashboard")]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads((CHART / "dashboards" / "hatchway.json").read_text())
    assert json.loads(dashboard["data"]["hatchway.json"]) == shipped
