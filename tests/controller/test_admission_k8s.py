"""The admission webhook of `hatchway controller` behind a real kube-apiserver, driven with the
real kubectl: refused writes get kubectl's error with our message, warned writes are created
and kubectl prints our warnings, other classes pass untouched, and with the controller down
writes still succeed (failurePolicy Ignore).

The ValidatingWebhookConfiguration is the Helm chart's own (`helm template`), pointed at the
controller on the host (the rig's API server runs there too) and limited to the test's
namespace; the controller sets its caBundle, so the API server reaching us at all proves it.
"""

from __future__ import annotations

import base64
import contextlib
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import ApiError, Client, KubeConfig
from lightkube.resources.admissionregistration_v1 import ValidatingWebhookConfiguration
from lightkube.resources.core_v1 import Namespace, Secret

from helm import helm_binary, helm_env
from manifests import (
    Doc,
    backend,
    gateway,
    gateway_class,
    http_gateway,
    listener,
    prefix,
    route,
    service,
)

from .conftest import ROOT, ControllerProcess, free_port
from .test_controller_k8s import OURS, RES, create, get, ours, summary, wait_for

pytestmark = pytest.mark.k8s
GW = "gateway.networking.k8s.io/v1"
DENIED = 'admission webhook "validate.hatchway.dev" denied the request: '


@dataclass
class Rig:
    kubeconfig: Path
    client: Client
    ns: str
    controller: ControllerProcess

    def kubectl(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    def apply(self, *bodies: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        return self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(bodies))


def chart_webhook(home: Path, release: str) -> dict[str, Any]:
    """The chart's ValidatingWebhookConfiguration, as `helm template` renders it."""
    out = subprocess.run(
        [
            str(helm_binary()),
            "template",
            release,
            str(ROOT / "deploy" / "helm" / "hatchway"),
            "--show-only",
            "templates/webhook.yaml",
        ],
        env=helm_env(home),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    (doc,) = [d for d in yaml.safe_load_all(out.stdout) if d]
    return dict(doc)


def http_route(ns: str, name: str, parents: list[Doc], *rules: Doc) -> Doc:
    return route("HTTPRoute", name, parents, list(rules), namespace=ns)


def to_echo(path: str) -> Doc:
    """A rule sending a path prefix to the Service `echo`."""
    return {"matches": [prefix(path)], "backendRefs": [backend("echo")]}


BAD_REGEX = {"matches": [{"path": {"type": "RegularExpression", "value": "/a(?=b)"}}]}
REMOVES_HOST = {
    "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"remove": ["Host"]}}]
}


@pytest.fixture(scope="module")
def rig(kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    if shutil.which("kubectl") is None:
        pytest.skip("no kubectl on this machine")
    tmp = tmp_path_factory.mktemp("admission")
    client = Client(KubeConfig.from_file(str(kubeconfig)), field_manager="hatchway-tests")
    ns = f"adm-{uuid.uuid4().hex[:8]}"
    client.create(Namespace.from_dict({"metadata": {"name": ns}}))
    port = free_port()
    config = chart_webhook(tmp / "helm", f"hatchway-{ns}")
    (hook,) = config["webhooks"]
    assert hook["failurePolicy"] == "Ignore" and hook["sideEffects"] == "None"
    assert hook["timeoutSeconds"] <= 10
    assert "caBundle" not in hook["clientConfig"]
    hook["clientConfig"] = {"url": f"https://127.0.0.1:{port}/validate"}
    hook["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": ns}}
    client.create(ValidatingWebhookConfiguration.from_dict(config))
    name = config["metadata"]["name"]
    controller = ControllerProcess(
        kubeconfig,
        tmp / "controller.log",
        env={"POD_NAMESPACE": ns},
        args=(
            f"--webhook-address=127.0.0.1:{port}",
            f"--webhook-configuration={name}",
        ),
    )
    try:
        ca = wait_for("the CA Secret", lambda: _ca(client, ns))
        wait_for(
            "the caBundle set by the controller",
            lambda: _ca_bundle(client, name) == base64.b64encode(ca).decode(),
        )
        rig = Rig(kubeconfig, client, ns, controller)
        _cluster(rig)
        yield rig
    finally:
        controller.stop()
        client.delete(ValidatingWebhookConfiguration, name)
        for gc in (f"ours-{ns}", f"theirs-{ns}"):
            with contextlib.suppress(ApiError):
                client.delete(RES["GatewayClass"], gc)
        client.delete(Namespace, ns)
        client.close()


def _ca(client: Client, ns: str) -> bytes | None:
    for s in client.list(Secret, namespace=ns, fields={"metadata.name": "hatchway-xds-ca"}):
        return base64.b64decode((s.data or {})["ca.crt"])
    return None


def _ca_bundle(client: Client, name: str) -> str | None:
    (hook,) = client.get(ValidatingWebhookConfiguration, name).webhooks or []
    return hook.clientConfig.caBundle


def _cluster(rig: Rig) -> None:
    """Our class and Gateway, another controller's class and Gateway, a Service; waited for
    until the controller's view holds them (our Gateway has its status)."""
    ns = rig.ns
    classes = [(f"ours-{ns}", OURS, "gw"), (f"theirs-{ns}", "example.com/another", "their-gw")]
    for gc, controller, gw in classes:
        create(rig.client, gateway_class(gc, controller))
        create(rig.client, http_gateway(gw, free_port(), ns, class_name=gc))
    (echo,) = service("echo", 80, ns, endpoints=False)
    create(rig.client, echo)
    wait_for(
        "our Gateway accepted",
        lambda: (
            summary(
                get(rig.client, "Gateway", ns, "gw").get("status", {}).get("conditions", [])
            ).get("Accepted")
            == ("True", "Accepted")
        ),
    )


def _absent(rig: Rig, name: str) -> bool:
    got = rig.kubectl("get", "httproute", "-n", rig.ns, name)
    return got.returncode != 0 and "NotFound" in got.stderr


def test_kubectl_apply_is_refused_with_our_message(rig: Rig) -> None:
    ns = rig.ns
    done = rig.apply(http_route(ns, "bad-regex", [{"name": "gw"}], BAD_REGEX))
    assert done.returncode != 0, done.stdout
    assert (
        f"{DENIED}HTTPRoute {ns}/bad-regex cannot be served by Hatchway: "
        'spec.rules[0].matches[0].path.value: Invalid value: "/a(?=b)": invalid regular '
        "expression: invalid perl operator: (?="
    ) in done.stderr, done.stderr
    assert _absent(rig, "bad-regex")

    done = rig.apply(
        http_route(
            ns, "strip-host", [{"name": "gw"}], to_echo("/ok"), {**to_echo("/x"), **REMOVES_HOST}
        )
    )
    assert done.returncode != 0
    assert (
        f"{DENIED}HTTPRoute {ns}/strip-host cannot be served by Hatchway: "
        'spec.rules[1].filters[0].requestHeaderModifier.remove[0]: Invalid value: "Host": '
        "the Host header cannot be removed"
    ) in done.stderr, done.stderr
    assert _absent(rig, "strip-host")


def test_kubectl_apply_prints_our_warnings_and_creates_the_object(rig: Rig) -> None:
    ns = rig.ns
    done = rig.apply(
        http_route(ns, "two-parents", [{"name": "gw"}, {"name": "nope"}], to_echo("/two"))
    )
    assert done.returncode == 0, done.stderr
    assert "httproute.gateway.networking.k8s.io/two-parents created" in done.stdout
    assert (
        f"Warning: HTTPRoute {ns}/two-parents: not served by Hatchway: parentRef Gateway "
        f"{ns}/nope does not exist [ParentNotFound]"
    ) in done.stderr, done.stderr

    done = rig.apply(http_route(ns, "first", [{"name": "gw"}], to_echo("/shared")))
    assert done.returncode == 0 and "Warning" not in done.stderr, done.stderr
    # The second is judged against a view that holds the first: wait for its status.
    wait_for("the first route's status", lambda: ours(get(rig.client, "HTTPRoute", ns, "first")))
    done = rig.apply(http_route(ns, "second", [{"name": "gw"}], to_echo("/shared")))
    assert done.returncode == 0, done.stderr
    assert "httproute.gateway.networking.k8s.io/second created" in done.stdout
    assert (
        f"Warning: HTTPRoute {ns}/second: rule 0 match 0 can never be selected on host *: "
        f"HTTPRoute/{ns}/first rule 0 match 0 always matches first [ShadowedRule]"
    ) in done.stderr, done.stderr


def test_another_controllers_objects_pass_without_a_word(rig: Rig) -> None:
    ns = rig.ns
    done = rig.apply(http_route(ns, "theirs", [{"name": "their-gw"}], BAD_REGEX))
    assert done.returncode == 0, done.stderr
    assert "created" in done.stdout and "Warning" not in done.stderr, done.stderr
    https = [listener("https", 8443, "HTTPS", certs=("nowhere",))]
    done = rig.apply(gateway("their-tls", https, ns, class_name=f"theirs-{ns}"))
    assert done.returncode == 0 and "Warning" not in done.stderr, done.stderr
    # The same Gateway of our class: warned (its certificate Secret does not exist).
    done = rig.apply(gateway("our-tls", https, ns, class_name=f"ours-{ns}"))
    assert done.returncode == 0, done.stderr
    assert f"Warning: Gateway {ns}/our-tls listener https: ResolvedRefs=False" in done.stderr


def test_with_the_controller_down_writes_still_succeed(rig: Rig) -> None:
    """failurePolicy Ignore: the webhook's outage never blocks users (last in this module)."""
    rig.controller.stop()
    started = time.monotonic()
    done = rig.apply(http_route(rig.ns, "unchecked", [{"name": "gw"}], BAD_REGEX))
    assert done.returncode == 0, done.stderr
    assert "httproute.gateway.networking.k8s.io/unchecked created" in done.stdout
    assert time.monotonic() - started < 30
