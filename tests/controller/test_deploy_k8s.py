"""deploy/: the manifests are accepted by the API server, and the controller runs with exactly
the ServiceAccount's RBAC (a token of that account, not the admin identity) and still writes
status, finalizers and its Lease."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client, codecs
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ServiceAccountToken

from .conftest import ROOT, ControllerProcess, free_port
from .test_controller_k8s import RES, create, get, objects, ours, wait_for

pytestmark = pytest.mark.k8s
SA_NS = "hatchway-system"


def apply_manifests(client: Client) -> None:
    for name in ("namespace.yaml", "rbac.yaml", "gatewayclass.yaml", "deployment.yaml"):
        for obj in codecs.load_all_yaml((ROOT / "deploy" / "embedded" / name).read_text()):
            client.apply(obj, force=True)


def sa_kubeconfig(client: Client, admin: Path, out: Path) -> Path:
    """A kubeconfig that authenticates as the deployed ServiceAccount (a bound token)."""
    request = ServiceAccountToken(
        metadata=ObjectMeta(name="hatchway", namespace=SA_NS),
        spec=TokenRequestSpec(audiences=[], expirationSeconds=3600),
    )
    issued = client.create(request, "hatchway", namespace=SA_NS)
    config: dict[str, Any] = yaml.safe_load(admin.read_text())
    config["users"] = [{"name": "sa", "user": {"token": issued.status.token}}]
    config["contexts"][0]["context"]["user"] = "sa"
    out.write_text(yaml.safe_dump(config))
    return out


def test_controller_runs_with_the_deployed_rbac(
    client: Client, kubeconfig: Path, ns: str, tmp_path: Path
) -> None:
    apply_manifests(client)
    assert get(client, "GatewayClass", None, "hatchway")["spec"]["controllerName"]
    sa_config = sa_kubeconfig(client, kubeconfig, tmp_path / "sa.kubeconfig")
    controller = ControllerProcess(
        sa_config, tmp_path / "controller.log", env={"POD_NAMESPACE": SA_NS}
    )
    try:
        gc = f"gc-{ns}"
        for b in objects(ns, gc, free_port()):
            create(client, b)
        wait_for(
            "route status as the ServiceAccount", lambda: ours(get(client, "HTTPRoute", ns, "r1"))
        )
        text = controller.log_path.read_text()
        # An RBAC refusal: "forbidden" in the API server's message, or status code 403 (not
        # any "403" — ports and timings contain it too).
        refused = re.search(r"forbidden|\b(?:code|status)\W{0,3}403\b|\b403 Forbidden", text, re.I)
        assert refused is None, text[-3000:]
    finally:
        controller.stop()
    client.delete(RES["Gateway"], "gw", namespace=ns)
