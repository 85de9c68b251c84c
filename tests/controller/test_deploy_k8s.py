"""deploy/: the manifests are accepted by the API server, and the controller runs with exactly
the ServiceAccount's RBAC (a token of that account, not the admin identity) and still writes
status, finalizers and its Lease."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import ApiError, Client, KubeConfig, codecs
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ServiceAccountToken

from e2e.pki import CA

from .conftest import ROOT, ControllerProcess, free_port
from .test_controller_k8s import RES, create, get, objects, ours, summary, wait_for

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


def test_tls_secrets_reach_the_controller_and_no_other_secret_does(
    client: Client, kubeconfig: Path, ns: str, tmp_path: Path
) -> None:
    """As the ServiceAccount (list and watch on Secrets, no `get`): a listener's TLS Secret
    arrives through the type-selected watch and the listener is served; an Opaque Secret with
    the very same keys is never read, so its listener says the reference is not found."""
    apply_manifests(client)
    sa_config = sa_kubeconfig(client, kubeconfig, tmp_path / "sa.kubeconfig")
    as_sa = Client(KubeConfig.from_file(str(sa_config)))
    with pytest.raises(ApiError) as refused:
        as_sa.get(RES["Secret"], "anything", namespace=ns)
    assert refused.value.status.code == 403
    pair = CA().issue("deploy-test", dns=("example.org",))
    data = {"tls.crt": pair.cert_pem, "tls.key": pair.key_pem}
    for name, type_ in (("cert", "kubernetes.io/tls"), ("opaque", "Opaque")):
        meta = {"namespace": ns, "name": name}
        create(client, {"kind": "Secret", "metadata": meta, "type": type_, "stringData": data})
    gc = f"gc-{ns}"
    bodies = objects(ns, gc, free_port())
    gateway = next(b for b in bodies if b["kind"] == "Gateway")
    gateway["spec"]["listeners"] += [
        {"name": f"https-{ref}", "protocol": "HTTPS", "port": free_port(), "hostname": host,
         "tls": {"certificateRefs": [{"name": ref}]}}
        for ref, host in (("cert", "a.example.org"), ("opaque", "b.example.org"))
    ]  # fmt: skip
    controller = ControllerProcess(
        sa_config, tmp_path / "controller.log", env={"POD_NAMESPACE": SA_NS}
    )
    try:
        for b in bodies:
            create(client, b)

        def listeners() -> dict[str, Any] | None:
            status = get(client, "Gateway", ns, "gw").get("status") or {}
            found = {ls["name"]: summary(ls["conditions"]) for ls in status.get("listeners", [])}
            return found if len(found) == 3 else None

        found = wait_for("listener status as the ServiceAccount", listeners)
        assert found["https-cert"]["ResolvedRefs"] == ("True", "ResolvedRefs")
        assert found["https-cert"]["Programmed"] == ("True", "Programmed")
        assert found["https-opaque"]["ResolvedRefs"] == ("False", "InvalidCertificateRef")
        status = get(client, "Gateway", ns, "gw")["status"]
        opaque = next(ls for ls in status["listeners"] if ls["name"] == "https-opaque")
        message = next(c["message"] for c in opaque["conditions"] if c["type"] == "ResolvedRefs")
        assert message == f"certificateRef {ns}/opaque: not found"
        text = controller.log_path.read_text()
        refused_log = re.search(r"forbidden|\b(?:code|status)\W{0,3}403\b", text, re.I)
        assert refused_log is None, text[-3000:]
    finally:
        controller.stop()
        as_sa.close()
    client.delete(RES["Gateway"], "gw", namespace=ns)
