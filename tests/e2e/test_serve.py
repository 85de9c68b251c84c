"""`hatchway serve` end to end: real Envoy, real sockets (loopback), real files."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from e2e.echo import EchoPool
from e2e.harness import Hatchway, free_port, http_request, wait_for, write_yaml
from manifests import gateway_class, http_gateway, http_route, service

pytestmark = pytest.mark.e2e

Factory = Callable[..., Hatchway]


def _backend(resp_body: Any) -> str:
    return str(resp_body["backend"])


@pytest.fixture
def setup(tmp_path: Path, echo_pool: EchoPool) -> dict[str, Any]:
    """Two echo backends (blue, green), one Gateway, /blue -> blue and /green -> green."""
    blue = echo_pool.servers.get("blue") or echo_pool.start("blue")
    green = echo_pool.servers.get("green") or echo_pool.start("green")
    config = tmp_path / "config"
    config.mkdir()
    port = free_port()
    write_yaml(config / "gateway.yaml", [gateway_class(), http_gateway("demo", port)])
    write_yaml(
        config / "services.yaml", [*service("blue", blue.port), *service("green", green.port)]
    )
    write_yaml(
        config / "route.yaml", [http_route("app", "demo", [("/blue", "blue"), ("/green", "green")])]
    )
    return {"config": config, "port": port}


def test_routes_to_the_right_backend_over_http1(
    setup: dict[str, Any], hatchway_factory: Factory
) -> None:
    hatchway_factory(setup["config"])
    port = setup["port"]
    r = http_request(port, "/blue/x?q=1&r=2", host="example.com")
    assert r.status == 200
    body = r.json()
    assert body["backend"] == "blue"
    assert body["path"] == "/blue/x?q=1&r=2"
    assert body["host"] == "example.com"
    assert _backend(http_request(port, "/green").json()) == "green"
    # No rule matches: Envoy answers, the backends do not.
    assert http_request(port, "/elsewhere").status == 404


def test_a_253_character_gateway_name_serves(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Factory
) -> None:
    """The longest name Kubernetes allows (conformance GatewayNameMaximumLength, v1.7): the
    names Hatchway derives from it (Envoy listeners, routes, stats) still work."""
    blue = echo_pool.servers.get("blue") or echo_pool.start("blue")
    name = "gateway-name-maximum-length-" + "a" * (253 - 28)
    assert len(name) == 253
    config = tmp_path / "config"
    config.mkdir()
    port = free_port()
    write_yaml(
        config / "all.yaml",
        [
            gateway_class(),
            http_gateway(name, port),
            *service("blue", blue.port),
            http_route("app", name, [("/", "blue")]),
        ],
    )
    hw = hatchway_factory(config)
    assert _backend(http_request(port, "/x").json()) == "blue"
    (gw,) = [r for r in hw.admin("/status").json()["resources"] if r["kind"] == "Gateway"]
    assert gw["metadata"]["name"] == name
    assert {c["type"]: c["status"] for c in gw["status"]["conditions"]}["Programmed"] == "True"


def test_address_routability_standalone(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Factory
) -> None:
    """GEP-5093 without a cluster: `testing.x-k8s.io/sentinel` is served and reported;
    `Cluster` cannot be given (no ServiceCIDR), so that Gateway binds nothing and says why."""
    blue = echo_pool.servers.get("blue") or echo_pool.start("blue")
    config = tmp_path / "config"
    config.mkdir()
    served, refused = free_port(), free_port()
    docs: list[dict[str, Any]] = [gateway_class(), *service("blue", blue.port)]
    for name, port, routability in (
        ("sentinel", served, "testing.x-k8s.io/sentinel"),
        ("cluster", refused, "Cluster"),
    ):
        gw = http_gateway(name, port)
        gw["spec"]["addresses"] = [{"type": "IPAddress", "routability": routability}]
        docs += [gw, http_route(f"r-{name}", name, [("/", "blue")])]
    write_yaml(config / "all.yaml", docs)
    hw = hatchway_factory(config)
    assert _backend(http_request(served, "/").json()) == "blue"
    with pytest.raises(OSError):
        http_request(refused, "/", timeout=1)
    by_name = {
        r["metadata"]["name"]: r["status"]
        for r in hw.admin("/status").json()["resources"]
        if r["kind"] == "Gateway"
    }
    assert by_name["sentinel"]["addresses"][0]["routability"] == "testing.x-k8s.io/sentinel"
    conds = {c["type"]: (c["status"], c["reason"]) for c in by_name["cluster"]["conditions"]}
    assert conds["AddressesAssigned"] == ("False", "NotAssigned")
    assert conds["Programmed"] == ("False", "AddressNotAssigned")
    assert by_name["cluster"]["addresses"] == []


def test_admin_api(setup: dict[str, Any], hatchway_factory: Factory) -> None:
    hw = hatchway_factory(setup["config"])
    assert hw.admin("/healthz").status == 200
    ready = hw.readyz()
    assert ready.status == 200 and ready.json()["generation"] == 1

    resources = hw.admin("/status").json()["resources"]
    gw = next(r for r in resources if r["kind"] == "Gateway")
    programmed = {c["type"]: c for c in gw["status"]["conditions"]}["Programmed"]
    assert programmed["status"] == "True"
    assert programmed["lastTransitionTime"].endswith("Z")
    route = next(r for r in resources if r["kind"] == "HTTPRoute")
    assert route["metadata"]["generation"] == 1

    assert hw.admin("/errors").json() == []
    config = hw.admin("/config").json()
    assert [lis["name"] for lis in config["listeners"]] == [f"http/127.0.0.1/{setup['port']}"]
    assert len(config["clusters"]) == 2

    metrics = hw.admin("/metrics").body.decode()
    assert 'hatchway_xds_acks_total{type="listeners"}' in metrics
    assert "hatchway_config_acked_generation 1.0" in metrics
    assert "hatchway_translation_seconds_count" in metrics
    assert 'hatchway_resources{condition="Programmed",kind="Gateway",status="True"} 1.0' in metrics


def test_hot_reload_and_generation_bump(setup: dict[str, Any], hatchway_factory: Factory) -> None:
    hw = hatchway_factory(setup["config"])
    port = setup["port"]
    assert _backend(http_request(port, "/blue").json()) == "blue"
    write_yaml(
        setup["config"] / "route.yaml",
        [http_route("app", "demo", [("/blue", "green"), ("/green", "green")])],
    )
    t0 = time.monotonic()
    wait_for(lambda: _backend(http_request(port, "/blue").json()) == "green", 5, "the new route")
    assert time.monotonic() - t0 < 5
    assert wait_for(lambda: hw.readyz().json()["generation"] >= 2, 5, "generation 2")
    resources = hw.admin("/status").json()["resources"]
    route = next(r for r in resources if r["kind"] == "HTTPRoute")
    assert route["metadata"]["generation"] == 2  # the spec changed
    observed = {
        c["observedGeneration"] for p in route["status"]["parents"] for c in p["conditions"]
    }
    assert observed == {2}
    gw = next(r for r in resources if r["kind"] == "Gateway")
    assert gw["metadata"]["generation"] == 1  # untouched


def test_bad_input_keeps_last_good_config(setup: dict[str, Any], hatchway_factory: Factory) -> None:
    hw = hatchway_factory(setup["config"])
    port = setup["port"]
    bad = http_route("app", "demo", [("/blue", "green")])
    bad["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Prefix"  # not an enum value
    write_yaml(setup["config"] / "route.yaml", [bad])

    errors = wait_for(lambda: hw.admin("/errors").json(), 5, "an input error")
    assert errors[0]["kind"] == "HTTPRoute" and errors[0]["name"] == "app"
    assert errors[0]["file"].endswith("route.yaml")
    assert "Prefix" in errors[0]["message"] or "path" in (errors[0]["field"] or "")
    # Still the last good configuration: /blue goes to blue, /green still routed.
    assert _backend(http_request(port, "/blue").json()) == "blue"
    assert _backend(http_request(port, "/green").json()) == "green"
    assert hw.readyz().json()["generation"] == 1

    write_yaml(setup["config"] / "route.yaml", [http_route("app", "demo", [("/blue", "green")])])
    wait_for(lambda: hw.admin("/errors").json() == [], 5, "errors to clear")
    wait_for(lambda: _backend(http_request(port, "/blue").json()) == "green", 5, "the fix")


def test_one_bad_object_does_not_freeze_other_changes(
    setup: dict[str, Any], hatchway_factory: Factory
) -> None:
    """As with an API server: the invalid update is refused, the old object keeps serving,
    and valid changes elsewhere go live; a file that no longer parses keeps its last good
    content."""
    hw = hatchway_factory(setup["config"])
    port = setup["port"]
    bad = http_route("app", "demo", [("/blue", "green")])
    bad["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Prefix"
    write_yaml(setup["config"] / "route.yaml", [bad])
    errors = wait_for(lambda: hw.admin("/errors").json(), 5, "an input error")
    assert "previous version keeps serving" in errors[0]["message"]

    write_yaml(setup["config"] / "extra.yaml", [http_route("extra", "demo", [("/x", "green")])])
    wait_for(lambda: http_request(port, "/x").status == 200, 5, "the unrelated new route")
    assert _backend(http_request(port, "/blue").json()) == "blue"  # old `app` still live
    app = next(r for r in hw.admin("/status").json()["resources"] if r["metadata"]["name"] == "app")
    assert app["metadata"]["generation"] == 1  # the refused update never happened

    (setup["config"] / "extra.yaml").write_text("spec: [unclosed\n")
    errors = wait_for(
        lambda: [e for e in hw.admin("/errors").json() if "extra.yaml" in (e["file"] or "")],
        5,
        "the YAML error",
    )
    assert "last good content keeps serving" in errors[0]["message"]
    assert http_request(port, "/x").status == 200


def test_envoy_killed_is_restarted(setup: dict[str, Any], hatchway_factory: Factory) -> None:
    hw = hatchway_factory(setup["config"])
    port = setup["port"]
    first = hw.envoy_pid()
    assert first is not None
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: hw.envoy_pid() not in (None, first), 10, "a new Envoy process")
    hw.wait_ready(15)
    r = wait_for(lambda: http_request(port, "/blue").status == 200, 10, "traffic back")
    assert r
    assert "hatchway_envoy_restarts_total 1.0" in hw.admin("/metrics").body.decode()


def test_sigterm_exits_cleanly(setup: dict[str, Any], hatchway_factory: Factory) -> None:
    hw = hatchway_factory(setup["config"])
    envoy = hw.envoy_pid()
    assert envoy is not None
    t0 = time.monotonic()
    assert hw.stop() == 0
    assert time.monotonic() - t0 < 10
    assert (
        not Path(f"/proc/{envoy}").exists()
        or "Z" in Path(f"/proc/{envoy}/stat").read_text().split()[2]
    )
    with pytest.raises(OSError):
        http_request(setup["port"], "/blue", timeout=1)


def test_nack_marks_the_gateway_and_the_rest_keeps_serving(
    setup: dict[str, Any], hatchway_factory: Factory
) -> None:
    # A second Gateway on a port someone else holds: Envoy cannot bind it and NACKs.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        write_yaml(setup["config"] / "blocked.yaml", [http_gateway("blocked", taken)])
        hw = hatchway_factory(setup["config"], wait_ready=False)

        def nacked() -> dict[str, Any] | None:
            r = hw.readyz()
            return r.json() if r.status == 503 and "details" in r.json() else None

        ready = wait_for(nacked, 30, "/readyz 503 with the NACK")
        assert "default/blocked" in ready["reason"]
        detail = ready["details"][0]
        assert detail["type"] == "listeners"
        assert "Gateway/default/blocked" in detail["objects"]
        assert str(taken) in detail["message"]

        resources = hw.admin("/status").json()["resources"]
        blocked = next(r for r in resources if r["metadata"]["name"] == "blocked")
        cond = {c["type"]: c for c in blocked["status"]["conditions"]}["Programmed"]
        assert cond["status"] == "False" and cond["reason"] == "Invalid"
        assert str(taken) in cond["message"]
        listener = blocked["status"]["listeners"][0]
        assert {c["type"]: c for c in listener["conditions"]}["Programmed"]["status"] == "False"
        demo = next(r for r in resources if r["metadata"]["name"] == "demo")
        assert {c["type"]: c for c in demo["status"]["conditions"]}["Programmed"][
            "status"
        ] == "True"

        # Everything else keeps serving.
        assert _backend(http_request(setup["port"], "/blue").json()) == "blue"
