"""The Helm chart, installed for real: the controller itself runs as Pods of the chart's
Deployment (the rig's pod runner runs the `hatchway` image with the chart's arguments, as a
kubelet would), with exactly the chart's RBAC; a port-80 HTTP Gateway and a 443 HTTPS Gateway
each get their own address and serve traffic."""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cluster import Cluster, wait_for
from e2e.pki import CA
from hatchway.sources.kube import WATCHED, resource_class
from helm import helm_binary, helm_env
from manifests import (
    catch_all_route,
    gateway,
    http_gateway,
    listener,
    namespace,
    tls_secret,
)

from .conftest import apply, backend, wait_programmed

pytestmark = pytest.mark.k8s

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "hatchway"
RELEASE_NS = "hatchway-helm"
APPS = "helm-apps"
VALUES = [
    "--set",
    "image.repository=hatchway",
    "--set",
    "image.tag=dev",
    "--set",
    "gatewayAPI.installCRDs=false",  # the rig installed them
]


def _helm(cluster: Cluster, home: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(
        [str(helm_binary()), *args],
        env=helm_env(home, cluster.kubeconfig),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_chart_lints_and_the_api_server_accepts_it(cluster: Cluster, tmp_path: Path) -> None:
    assert "0 chart(s) failed" in _helm(cluster, tmp_path, "lint", str(CHART), *VALUES)
    rendered = _helm(
        cluster, tmp_path, "template", "hatchway", str(CHART), "-n", RELEASE_NS, *VALUES
    )
    kubectl = ["kubectl", "--kubeconfig", str(cluster.kubeconfig)]
    # `helm install --create-namespace` makes it; a dry run needs it to exist.
    apply(cluster, namespace(RELEASE_NS))

    def dry_run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*kubectl, "apply", "--dry-run=server", "-f", "-"],
            input=rendered,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    # The API server's namespace admission may not have seen the new namespace yet.
    applied = wait_for("a server-side dry run", lambda: (r := dry_run()).returncode == 0 and r, 30)
    assert "deployment.apps/hatchway created (server dry run)" in applied.stdout


@pytest.fixture(scope="module")
def installed(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("helm")
    _helm(
        cluster,
        home,
        "install",
        "hatchway",
        str(CHART),
        "-n",
        RELEASE_NS,
        "--create-namespace",
        *VALUES,
    )
    try:
        yield home
    finally:
        # Gateways first, while the controller runs: it removes the GatewayClass's finalizer
        # once no Gateway uses the class (else uninstalling would wait on it for ever).
        spec = next(s for s in WATCHED if s.kind == "Gateway")
        gateways = resource_class(spec, "v1")
        for gw in cluster.client.list(gateways, namespace=APPS):
            cluster.client.delete(gateways, gw.metadata.name, namespace=APPS)
        classes = resource_class(next(s for s in WATCHED if s.kind == "GatewayClass"), "v1")
        wait_for(
            "the GatewayClass without our finalizer",
            lambda: not (cluster.client.get(classes, "hatchway").metadata.finalizers or []),
            60,
        )
        _helm(cluster, home, "uninstall", "hatchway", "-n", RELEASE_NS, "--wait", check=False)


def _get(url: str, ca: str | None = None, host: str | None = None) -> dict[str, Any] | None:
    try:
        ctx = ssl.create_default_context(cadata=ca) if ca else None
        req = urllib.request.Request(url, headers={"Host": host} if host else {})
        with urllib.request.urlopen(req, timeout=3, context=ctx) as r:
            return json.loads(r.read()) if r.status == 200 else None
    except (OSError, ValueError):
        return None


def test_http_and_https_gateways_serve_on_their_own_addresses(
    cluster: Cluster, installed: Path
) -> None:
    ns = APPS
    apply(cluster, namespace(ns))
    apply(cluster, *backend(ns, "echo"))
    ca = CA("helm-test")
    pair = ca.issue("secure", dns=("secure.test",))
    secure = listener("https", 443, "HTTPS", hostname="secure.test", certs=("cert",))
    apply(
        cluster,
        tls_secret("cert", pair, ns),
        http_gateway("web", 80, ns),
        gateway("secure", [secure], ns),
        *(catch_all_route(gw, gw, "echo", ns) for gw in ("web", "secure")),
    )
    web = wait_programmed(cluster, ns, "web", 240, RELEASE_NS)
    secure = wait_programmed(cluster, ns, "secure", 240, RELEASE_NS)
    assert web != secure
    answer = wait_for("HTTP on :80", lambda: _get(f"http://{web}/"), 60)
    assert answer["namespace"] == ns
    # HTTPS: SNI secure.test at the Gateway's own address (resolved by hand, as DNS would).
    ctx = ssl.create_default_context(cadata=ca.pem)

    def https() -> bool:
        import http.client

        try:
            conn = http.client.HTTPSConnection(secure, 443, timeout=3, context=ctx)
            conn.sock = ctx.wrap_socket(  # SNI and verification for the name, TCP to the IP
                __import__("socket").create_connection((secure, 443), timeout=3),
                server_hostname="secure.test",
            )
            conn.request("GET", "/", headers={"Host": "secure.test"})
            return conn.getresponse().status == 200
        except OSError:
            return False

    assert wait_for("HTTPS on :443", https, 60)
