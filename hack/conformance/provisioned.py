"""Objects a provisioned conformance run needs before the controller starts: the GatewayClass
(its data-plane parameters: one proxy per Gateway, the suite needs no spares) and the
controller's Service in hatchway-system, pointing at the host, where run.sh starts the
controller (a selector-less Service plus an EndpointSlice, as for any out-of-cluster backend).

    python hack/conformance/provisioned.py --kubeconfig FILE --host-ip IP --xds-port PORT
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from lightkube import ApiError, Client, KubeConfig, codecs
from lightkube.generic_resource import create_global_resource, create_namespaced_resource

NS = "hatchway-system"
create_global_resource("gateway.networking.k8s.io", "v1", "GatewayClass", "gatewayclasses")
create_namespaced_resource("hatchway.dev", "v1alpha1", "GatewayParameters", "gatewayparameters")


def objects(host_ip: str, xds_port: int) -> list[dict[str, Any]]:
    ports = [{"name": "xds", "port": xds_port}, {"name": "certs", "port": xds_port + 1}]
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        {
            "apiVersion": "hatchway.dev/v1alpha1",
            "kind": "GatewayParameters",
            "metadata": {"name": "conformance", "namespace": NS},
            "spec": {"replicas": 1, "envoy": {"drainSeconds": 1}},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "hatchway"},
            "spec": {
                "controllerName": "hatchway.dev/gateway-controller",
                "description": "Hatchway conformance run (a data plane per Gateway)",
                "parametersRef": {
                    "group": "hatchway.dev",
                    "kind": "GatewayParameters",
                    "name": "conformance",
                    "namespace": NS,
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "hatchway", "namespace": NS},
            "spec": {"ports": [{**p, "targetPort": p["port"]} for p in ports]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "hatchway-host",
                "namespace": NS,
                "labels": {"kubernetes.io/service-name": "hatchway"},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": [host_ip]}],
            "ports": [{**p, "protocol": "TCP"} for p in ports],
        },
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--host-ip", required=True)
    parser.add_argument("--xds-port", type=int, required=True)
    args = parser.parse_args()
    client = Client(KubeConfig.from_file(args.kubeconfig), field_manager="hatchway-conformance")
    for obj in objects(args.host_ip, args.xds_port):
        for _ in range(50):  # a new namespace takes a moment to be admitted into
            try:
                client.apply(codecs.from_dict(obj), force=True)
                break
            except ApiError as exc:
                if exc.status.code != 404:
                    raise
                time.sleep(0.2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
