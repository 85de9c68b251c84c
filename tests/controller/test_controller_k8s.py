"""`hatchway controller` against a real kube-apiserver + etcd (hack/k8s): status written the way
the core computes it, updates and deletes converge, and a restart writes nothing new."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from lightkube import Client
from lightkube.types import PatchType

from e2e.pki import CA, KeyPair
from hatchway import render
from hatchway.sources.kube import WATCHED, resource_class
from hatchway.sources.status_writer import GATEWAY_CLASS_FINALIZER
from hatchway.translate import translate
from manifests import (
    catch_all_route,
    gateway,
    gateway_class,
    http_gateway,
    listener,
    service,
    tls_secret,
)
from snapshots import snapshot

from .conftest import ControllerProcess, free_port

pytestmark = pytest.mark.k8s
OURS = "hatchway.dev/gateway-controller"
SPECS = {s.kind: s for s in WATCHED}
RES = {kind: resource_class(spec, spec.versions[0]) for kind, spec in SPECS.items()}


def objects(ns: str, gc: str, port: int) -> list[dict[str, Any]]:
    return [
        gateway_class(gc, OURS),
        http_gateway("gw", port, ns, class_name=gc),
        *service("echo", 8080, ns, endpoints=False),
        catch_all_route("r1", "gw", "echo", ns),
    ]


def create(client: Client, body: dict[str, Any]) -> None:
    client.create(RES[body["kind"]].from_dict(body))


def get(client: Client, kind: str, ns: str | None, name: str) -> dict[str, Any]:
    obj = client.get(RES[kind], name, namespace=ns)
    out: dict[str, Any] = obj.to_dict()  # type: ignore[no-untyped-call]
    return out


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def summary(conditions: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in conditions}


def ours(route: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in route.get("status", {}).get("parents", []) if p["controllerName"] == OURS]


def core_expectation(client: Client, bodies: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    """What the pure core says for the same objects, as read back from the API server."""
    lives = []
    for b in bodies:
        live = get(client, b["kind"], b["metadata"].get("namespace"), b["metadata"]["name"])
        live["metadata"].pop("managedFields", None)
        lives.append(live)
    report = render.report_to_dicts(translate(snapshot(lives, "cluster")).report)
    return {(r["kind"], r["metadata"]["name"]): r["status"] for r in report["resources"]}


def test_status_written_as_the_core_computes_it(
    client: Client, ns: str, start_controller: Callable[[], ControllerProcess]
) -> None:
    gc = f"gc-{ns}"
    bodies = objects(ns, gc, free_port())
    controller = start_controller()
    for b in bodies:
        create(client, b)
    route = wait_for(
        "HTTPRoute status",
        lambda: (r := get(client, "HTTPRoute", ns, "r1")) and ours(r) and r,
    )
    gateway = wait_for(
        "Gateway Programmed",
        lambda: (
            (g := get(client, "Gateway", ns, "gw"))
            and summary(g.get("status", {}).get("conditions", [])).get("Programmed", ("",))[0]
            == "True"
            and g
        ),
    )
    expected = core_expectation(client, bodies)
    assert summary(ours(route)[0]["conditions"]) == summary(
        expected[("HTTPRoute", "r1")]["parents"][0]["conditions"]
    )
    assert summary(gateway["status"]["conditions"]) == summary(
        expected[("Gateway", "gw")]["conditions"]
    )
    for c in [*gateway["status"]["conditions"], *ours(route)[0]["conditions"]]:
        assert c["observedGeneration"] == 1
    assert gateway["status"]["listeners"][0]["attachedRoutes"] == 1
    gclass = wait_for(
        "GatewayClass finalizer",
        lambda: (
            (g := get(client, "GatewayClass", None, gc))
            and GATEWAY_CLASS_FINALIZER in g["metadata"].get("finalizers", [])
            and g
        ),
    )
    assert summary(gclass["status"]["conditions"])["Accepted"][0] == "True"
    assert controller.get("/readyz")[0] == 200

    # Update: the backend disappears -> ResolvedRefs False, observedGeneration follows.
    client.patch(
        RES["HTTPRoute"],
        "r1",
        {"spec": {"rules": [{"backendRefs": [{"name": "gone", "port": 80}]}]}},
        namespace=ns,
        patch_type=PatchType.MERGE,
    )
    route = wait_for(
        "ResolvedRefs False",
        lambda: (
            (r := get(client, "HTTPRoute", ns, "r1"))
            and ours(r)
            and summary(ours(r)[0]["conditions"])["ResolvedRefs"][0] == "False"
            and r
        ),
    )
    assert {c["observedGeneration"] for c in ours(route)[0]["conditions"]} == {2}

    # Delete: the listener counts no route; then the Gateway goes and the finalizer with it.
    client.delete(RES["HTTPRoute"], "r1", namespace=ns)
    wait_for(
        "attachedRoutes 0",
        lambda: get(client, "Gateway", ns, "gw")["status"]["listeners"][0]["attachedRoutes"] == 0,
    )
    client.delete(RES["Gateway"], "gw", namespace=ns)
    wait_for(
        "finalizer removed",
        lambda: (
            GATEWAY_CLASS_FINALIZER
            not in get(client, "GatewayClass", None, gc)["metadata"].get("finalizers", [])
        ),
    )
    client.delete(RES["GatewayClass"], gc)


def test_other_controllers_parent_entries_are_kept(
    client: Client, ns: str, start_controller: Callable[[], ControllerProcess]
) -> None:
    gc = f"gc-{ns}"
    start_controller()
    for b in objects(ns, gc, free_port()):
        create(client, b)
    route = wait_for(
        "our entry", lambda: (r := get(client, "HTTPRoute", ns, "r1")) and ours(r) and r
    )
    foreign = {
        "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "theirs"},
        "controllerName": "example.com/other",
        "conditions": [
            {
                "type": "Accepted",
                "status": "True",
                "reason": "Accepted",
                "message": "",
                "observedGeneration": 1,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ],
    }
    client.patch(
        RES["HTTPRoute"].Status,
        "r1",
        {"status": {"parents": [foreign, *route["status"]["parents"]]}},
        namespace=ns,
        patch_type=PatchType.MERGE,
    )
    # A spec change makes the controller rewrite its entry; the foreign one must survive.
    client.patch(
        RES["HTTPRoute"],
        "r1",
        {"metadata": {"labels": {"x": "1"}}, "spec": {"hostnames": ["a.example"]}},
        namespace=ns,
        patch_type=PatchType.MERGE,
    )
    route = wait_for(
        "rewritten entry",
        lambda: (
            (r := get(client, "HTTPRoute", ns, "r1"))
            and ours(r)
            and ours(r)[0]["conditions"][0]["observedGeneration"] == 2
            and r
        ),
    )
    controllers = [p["controllerName"] for p in route["status"]["parents"]]
    assert sorted(controllers) == sorted([OURS, "example.com/other"])
    client.delete(RES["Gateway"], "gw", namespace=ns)
    client.delete(RES["GatewayClass"], gc)


def test_restart_does_not_rewrite_unchanged_status(
    client: Client, ns: str, start_controller: Callable[[], ControllerProcess]
) -> None:
    gc = f"gc-{ns}"
    first = start_controller()
    for b in objects(ns, gc, free_port()):
        create(client, b)
    wait_for(
        "converged",
        lambda: (
            ours(get(client, "HTTPRoute", ns, "r1"))
            and get(client, "Gateway", ns, "gw").get("status", {}).get("listeners")
        ),
    )
    first.wait_http("/readyz", 30)
    time.sleep(2)  # let any last write land before taking the versions
    versions = {
        k: get(client, k, ns if k != "GatewayClass" else None, n)["metadata"]["resourceVersion"]
        for k, n in (("HTTPRoute", "r1"), ("Gateway", "gw"), ("GatewayClass", gc))
    }
    first.stop()
    second = start_controller()
    second.wait_http("/readyz", 60)
    # The new process must have led and compared every status, not just idled as a standby.
    synced = wait_for(
        "a status sync by the restarted controller",
        lambda: (
            "became leader" in (text := second.log_path.read_text())
            and "status synced for generation" in text
            and text
        ),
    )
    lines = [ln for ln in synced.splitlines() if "status synced for generation" in ln]
    assert all(": 0 written" in ln for ln in lines), synced[-3000:]
    time.sleep(1)
    after = {
        k: get(client, k, ns if k != "GatewayClass" else None, n)["metadata"]["resourceVersion"]
        for k, n in (("HTTPRoute", "r1"), ("Gateway", "gw"), ("GatewayClass", gc))
    }
    assert after == versions, second.log_path.read_text()[-3000:]
    client.delete(RES["Gateway"], "gw", namespace=ns)
    client.delete(RES["GatewayClass"], gc)


def test_mismatched_key_pair_reported_and_kept_out_of_envoy(
    client: Client, ns: str, start_controller: Callable[[], ControllerProcess]
) -> None:
    """The API server stores a kubernetes.io/tls Secret whose key is not the certificate's;
    the controller reports it (the same core as `status` and `serve`), and Envoy, which would
    refuse the whole port, never gets it: the other listener is programmed."""
    ca = CA()
    right, wrong = ca.issue("a", dns=("a.test",)), ca.issue("b", dns=("a.test",))
    gc = f"gc-{ns}"
    start_controller()
    listeners = [
        listener("http", free_port()),
        listener("https", free_port(), "HTTPS", certs=("mismatched",)),
    ]
    for body in (
        gateway_class(gc, OURS),
        tls_secret("mismatched", KeyPair(right.cert_pem, wrong.key_pem), ns),
        gateway("gw", listeners, ns, class_name=gc),
    ):
        create(client, body)
    live = wait_for(
        "Gateway listener status",
        lambda: (g := get(client, "Gateway", ns, "gw")).get("status", {}).get("listeners") and g,
    )
    listeners = {lst["name"]: summary(lst["conditions"]) for lst in live["status"]["listeners"]}
    assert listeners["https"]["ResolvedRefs"] == ("False", "InvalidCertificateRef")
    assert listeners["https"]["Programmed"] == ("False", "Invalid")
    assert listeners["http"]["Programmed"] == ("True", "Programmed")
    conds = summary(live["status"]["conditions"])
    assert conds["ResolvedRefs"] == ("False", "ListenersNotResolved")
    assert conds["Programmed"] == ("True", "Programmed")  # Envoy accepted what it was given
    https = next(c for c in live["status"]["listeners"] if c["name"] == "https")
    message = next(c["message"] for c in https["conditions"] if c["type"] == "ResolvedRefs")
    assert "tls.key does not match the certificate" in message
    client.delete(RES["Gateway"], "gw", namespace=ns)
    client.delete(RES["GatewayClass"], gc)
