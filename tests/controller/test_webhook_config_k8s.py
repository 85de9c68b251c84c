"""The webhook's CA and the configuration's caBundle against a real API server, as the Helm
chart's ServiceAccount: its RBAC (rendered by `helm template`) is enough to create and read the
CA Secret and to keep the caBundle of its own ValidatingWebhookConfiguration, and nothing
more (another configuration is refused)."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import ApiError, AsyncClient, Client, KubeConfig, codecs
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.admissionregistration_v1 import ValidatingWebhookConfiguration
from lightkube.resources.core_v1 import Namespace, Secret, ServiceAccountToken

from hatchway.sources.ca_store import load_or_create
from hatchway.sources.webhook_config import ensure_ca_bundle
from helm import helm_binary, helm_env

from .conftest import ROOT

pytestmark = pytest.mark.k8s
CA_SECRET = "hatchway-xds-ca"  # the controller's default --ca-secret, as the chart runs it


def _render(home: Path, release: str, ns: str, *templates: str) -> list[dict[str, Any]]:
    chart = str(ROOT / "deploy/helm/hatchway")
    shows = [a for t in templates for a in ("--show-only", f"templates/{t}")]
    out = subprocess.run(
        [str(helm_binary()), "template", release, chart, "-n", ns, *shows],
        env=helm_env(home),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def _hook(name: str, bundle: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"url": "https://127.0.0.1:1/validate"}
    if bundle is not None:
        config["caBundle"] = bundle
    return {
        "name": name,
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "failurePolicy": "Ignore",
        "clientConfig": config,
        "rules": [
            {
                "apiGroups": ["example.com"],
                "apiVersions": ["v1"],
                "operations": ["CREATE"],
                "resources": ["nothings"],
            }
        ],
    }


@pytest.fixture
def chart_identity(
    kubeconfig: Path, client: Client, tmp_path: Path
) -> Iterator[tuple[str, str, Path]]:
    """(release, namespace, kubeconfig of the chart's ServiceAccount) with the chart's RBAC."""
    ns = f"whc-{uuid.uuid4().hex[:8]}"
    release = f"hw-{ns}"
    client.create(Namespace.from_dict({"metadata": {"name": ns}}))
    objs = _render(tmp_path / "helm", release, ns, "serviceaccount.yaml", "rbac.yaml")
    for obj in objs:
        client.apply(codecs.from_dict(obj), field_manager="hatchway-tests", force=True)
    token = client.create(
        ServiceAccountToken(
            metadata=ObjectMeta(name=release, namespace=ns),
            spec=TokenRequestSpec(audiences=[], expirationSeconds=3600),
        ),
        release,
        namespace=ns,
    )
    config: dict[str, Any] = yaml.safe_load(kubeconfig.read_text())
    config["users"] = [{"name": "sa", "user": {"token": token.status.token}}]
    config["contexts"][0]["context"]["user"] = "sa"
    sa = tmp_path / "sa.kubeconfig"
    sa.write_text(yaml.safe_dump(config))
    try:
        yield release, ns, sa
    finally:
        for obj in objs:
            if obj["kind"] in ("ClusterRole", "ClusterRoleBinding"):
                client.delete(type(codecs.from_dict(obj)), obj["metadata"]["name"])
        client.delete(Namespace, ns)


def test_the_chart_identity_keeps_its_own_ca_bundle_and_no_other(
    client: Client, chart_identity: tuple[str, str, Path]
) -> None:
    release, ns, sa = chart_identity
    mine = {
        "metadata": {"name": release},
        "webhooks": [_hook("a.example.com"), _hook("b.example.com", "eA==")],
    }
    other = {"metadata": {"name": f"other-{ns}"}, "webhooks": [_hook("c.example.com")]}
    for body in (mine, other):
        client.create(ValidatingWebhookConfiguration.from_dict(body))

    async def scenario() -> None:
        api = AsyncClient(KubeConfig.from_file(str(sa)), field_manager="hatchway")
        try:
            ca = await load_or_create(api, ns, CA_SECRET)
            again = await load_or_create(api, ns, CA_SECRET)
            assert again == ca  # read back, not made anew
            assert await ensure_ca_bundle(api, release, ca.cert_pem) == [
                "a.example.com",
                "b.example.com",
            ]
            assert await ensure_ca_bundle(api, release, ca.cert_pem) == []  # nothing to patch
            with pytest.raises(ApiError) as refused:
                await ensure_ca_bundle(api, f"other-{ns}", ca.cert_pem)
            assert refused.value.status.code == 403
        finally:
            await api.close()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 60))
        (secret,) = client.list(Secret, namespace=ns, fields={"metadata.name": CA_SECRET})
        assert sorted(secret.data or {}) == ["ca.crt", "ca.key"]
        hooks = client.get(ValidatingWebhookConfiguration, release).webhooks or []
        assert [h.clientConfig.caBundle for h in hooks] == [secret.data["ca.crt"]] * 2
    finally:
        for body in (mine, other):
            client.delete(ValidatingWebhookConfiguration, body["metadata"]["name"])
