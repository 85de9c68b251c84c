"""Fast checks of the pod runner's parts (hack/conformance/podrunner). The whole runner is
exercised on the rig by tests/k8srig and by `make conformance`."""

from __future__ import annotations

import base64
import datetime as dt
import socket
import struct
import time
from pathlib import Path
from typing import Any

import pytest
from podrunner import dns, kubelet
from podrunner.containers import plan_pod
from podrunner.env import NotReady, expand, service_env
from podrunner.images import Catalog, Unsupported, image_name, parse_dockerfile
from podrunner.probes import Action, probe_of
from podrunner.volumes import PodVolumes, write_atomic

ROOT = Path(__file__).resolve().parents[2]

COREFILE = """.:53 {
    forward . 8.8.8.8 9.9.9.9
    log
}
foo.bar.com:53 {
  whoami
}
"""


def _query(name: str, qtype: int = 1) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.strip(".").split("."))
    return (
        struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
        + labels
        + b"\0"
        + struct.pack("!HH", qtype, 1)
    )


def test_dns_answers_whoami_zone_with_client_address() -> None:
    zones = dns.whoami_zones(COREFILE)
    assert zones == ["foo.bar.com."]
    reply = dns.answer(_query("foo.bar.com."), "10.244.0.9", zones)
    assert reply is not None
    qid, flags, _qd, ancount = struct.unpack("!HHHH", reply[:8])
    assert (qid, flags & 0xF, ancount) == (0x1234, 0, 1)
    assert reply[-4:] == socket.inet_aton("10.244.0.9")


def test_dns_refuses_names_it_would_have_to_forward() -> None:
    reply = dns.answer(_query("example.com."), "10.244.0.9", dns.whoami_zones(COREFILE))
    assert reply is not None
    assert struct.unpack("!H", reply[2:4])[0] & 0xF == 5  # REFUSED
    assert struct.unpack("!H", reply[6:8])[0] == 0


def test_log_selection_honours_since_time_and_strips_cri_prefix() -> None:
    text = (
        "2026-01-01T00:00:00.000000Z stdout F old line\n"
        "2026-01-01T00:00:10.000000Z stdout F Echoing back request made to /mirror?x=1\n"
    )
    now = dt.datetime(2026, 1, 1, 0, 1, tzinfo=dt.UTC)
    assert kubelet.select_lines(text, {"sinceTime": ["2026-01-01T00:00:05Z"]}, now) == (
        "Echoing back request made to /mirror?x=1\n"
    )
    assert kubelet.select_lines(text, {}, now).count("\n") == 2
    assert kubelet.select_lines(text, {"sinceSeconds": ["30"]}, now) == ""


def _pod(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "tls-backend-5d8f7-abcde", "namespace": "infra", "uid": "u1"},
        "spec": spec,
    }


def _secret_lookup(kind: str, ns: str, name: str) -> dict[str, Any] | None:
    if (kind, ns, name) != ("Secret", "infra", "cert"):
        return None
    return {"data": {"tls.crt": base64.b64encode(b"CERT").decode(), "tls.key": "S0VZ"}}


def _no_token(pod: dict[str, Any], audience: str | None, seconds: int) -> tuple[str, float]:
    raise AssertionError("no token expected")


def _catalog(tmp_path: Path) -> Catalog:
    echo = tmp_path / "echo-basic"
    echo.write_text("")
    return Catalog(ROOT, str(echo))


def _plan(pod: dict[str, Any], tmp_path: Path, token: Any = _no_token) -> list[Any]:
    volumes = PodVolumes(pod, _secret_lookup, token, tmp_path / "pod", "10.244.0.5", "10.244.0.1")
    return plan_pod(
        pod,
        lookup=_secret_lookup,
        volumes=volumes.sync(),
        catalog=_catalog(tmp_path),
        pod_ip="10.244.0.5",
        host_ip="10.244.0.1",
    )


def test_echo_basic_of_both_suite_releases_runs_the_built_echo_server(tmp_path: Path) -> None:
    # v1.6.1 manifests: gateway-api/echo-basic; v1.7.0: gateway-api/conformance/echo-basic.
    catalog = _catalog(tmp_path)
    for ref in (
        "registry.k8s.io/gateway-api/echo-basic:v1.6.0-dev.3",
        "registry.k8s.io/gateway-api/conformance/echo-basic:v0.2.0",
    ):
        assert catalog.lookup(ref).entrypoint == [str(tmp_path / "echo-basic")]
    with pytest.raises(Unsupported, match="echo-advanced"):
        catalog.lookup("registry.k8s.io/gateway-api/conformance/echo-advanced:v0.1.0")


def test_echo_pod_gets_downward_env_and_its_secret_mounted_at_the_real_path(tmp_path: Path) -> None:
    pod = _pod(
        containers=[
            {
                "name": "echo",
                "image": "registry.k8s.io/gateway-api/echo-basic:v1.5.1",
                "volumeMounts": [{"name": "sv", "mountPath": "/etc/secret-volume"}],
                "env": [
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {
                        "name": "NAMESPACE",
                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
                    },
                    {"name": "TLS_SERVER_CERT", "value": "/etc/secret-volume/crt"},
                ],
            }
        ],
        volumes=[
            {
                "name": "sv",
                "secret": {"secretName": "cert", "items": [{"key": "tls.crt", "path": "crt"}]},
            }
        ],
    )
    (plan,) = _plan(pod, tmp_path)
    assert plan.argv == [str(tmp_path / "echo-basic")]
    assert plan.env["POD_NAME"] == "tls-backend-5d8f7-abcde"
    assert plan.env["NAMESPACE"] == "infra"
    assert plan.env["TLS_SERVER_CERT"] == "/etc/secret-volume/crt"  # not rewritten: mounted there
    # The volume, then the echo server the image holds (built under /tmp here: shown at its
    # own path, read-only, over the container's empty /tmp).
    (source, target, read_only), echo = plan.mounts
    assert echo == (str(tmp_path / "echo-basic"),) * 2 + (True,)
    assert (target, read_only) == ("/etc/secret-volume", True)
    assert (Path(source) / "crt").read_text() == "CERT"
    assert plan.tcp_ports == [3000] and plan.uid == 0


def test_stand_in_is_ready_on_the_ports_its_mode_listens_on(tmp_path: Path) -> None:
    """A declared containerPort the echo server never opens (v1.7's connection-error backend:
    port 3000 declared, TCP_PORT 3333) must not keep the Pod unready: Kubernetes makes a running
    container without a readiness probe Ready. Declared ports it does open are all waited for."""

    def ports(env: dict[str, str], declared: list[int]) -> list[int]:
        container = {
            "name": "c",
            "image": "registry.k8s.io/gateway-api/conformance/echo-basic:v0.1.0",
            "env": [{"name": k, "value": v} for k, v in env.items()],
            "ports": [{"containerPort": p} for p in declared],
        }
        (plan,) = _plan(_pod(containers=[container]), tmp_path)
        return list(plan.tcp_ports)

    assert ports({"TCP_ECHO_SERVER": "1", "TCP_PORT": "3333"}, [3000]) == [3333]
    assert ports({"TCP_ECHO_SERVER": "1"}, [3000]) == [3000]
    assert ports({}, [3000, 3001]) == [3000, 3001]
    assert ports({"HTTP_PORT": "8080"}, []) == [8080]
    assert ports({"UDP_ECHO_SERVER": "1"}, [8080]) == []


def test_pod_waits_for_missing_secret_and_rejects_unknown_images(tmp_path: Path) -> None:
    missing = _pod(
        containers=[{"name": "c", "image": "registry.k8s.io/gateway-api/echo-basic:v1"}],
        volumes=[{"name": "sv", "secret": {"secretName": "absent"}}],
    )
    with pytest.raises(NotReady):
        _plan(missing, tmp_path)
    optional = _pod(
        containers=[
            {
                "name": "c",
                "image": "registry.k8s.io/gateway-api/echo-basic:v1",
                "volumeMounts": [{"name": "sv", "mountPath": "/etc/sv"}],
            }
        ],
        volumes=[{"name": "sv", "secret": {"secretName": "absent", "optional": True}}],
    )
    (source, _path, _ro), _echo = _plan(optional, tmp_path)[0].mounts
    assert [p.name for p in Path(source).iterdir() if not p.name.startswith("..")] == []
    with pytest.raises(Unsupported, match="nginx:1"):
        _plan(_pod(containers=[{"name": "c", "image": "nginx:1"}]), tmp_path)
    with pytest.raises(Unsupported, match="hostPath"):
        _plan(
            _pod(
                containers=[{"name": "c", "image": "hatchway:dev"}],
                volumes=[{"name": "h", "hostPath": {"path": "/etc"}}],
            ),
            tmp_path,
        )


def test_the_hatchway_image_is_read_from_deploy_dockerfile() -> None:
    image = Catalog(ROOT, None).lookup("ghcr.io/x/hatchway:1@sha256:abc")
    assert image.entrypoint == ["hatchway"]
    assert image.user == 65532
    assert image.env["PATH"].split(":")[0] == str(ROOT / ".venv" / "bin")
    assert image_name("localhost:5000/team/hatchway:dev") == "localhost:5000/team/hatchway"
    assert image_name("hatchway") == "hatchway"


def test_dockerfile_last_stage_wins_and_shell_form_runs_a_shell() -> None:
    image = parse_dockerfile(
        'FROM a AS build\nUSER 1\nENTRYPOINT ["/build"]\n'
        "FROM b\nWORKDIR /app\nENV A=1 B=two\nUSER 10:20\n"
        'ENTRYPOINT ["hatchway", \\\n  "proxy"]\nCMD echo hi\n'
    )
    assert image.entrypoint == ["hatchway", "proxy"]
    assert image.cmd == ["/bin/sh", "-c", "echo hi"]
    assert (image.user, image.group, image.workdir) == (10, 20, "/app")
    assert image.env == {"A": "1", "B": "two"}
    with pytest.raises(Unsupported, match="numeric"):
        parse_dockerfile("FROM x\nUSER hatchway\n")


def test_command_and_args_follow_kubernetes_rules_with_variable_expansion(tmp_path: Path) -> None:
    def argv(**container: Any) -> list[str]:
        env = [{"name": "NODE", "value": "n1"}, {"name": "ID", "value": "$(NODE)-x"}]
        pod = _pod(containers=[{"name": "c", "image": "hatchway:dev", "env": env, **container}])
        return list(_plan(pod, tmp_path)[0].argv)

    assert argv(args=["proxy", "--id=$(ID)", "$$(ID)", "$(MISSING)"]) == [
        "hatchway",
        "proxy",
        "--id=n1-x",
        "$(ID)",
        "$(MISSING)",
    ]
    assert argv(command=["python3", "-c", "pass"]) == ["python3", "-c", "pass"]
    assert argv(command=["envoy"], args=["--version"]) == ["envoy", "--version"]
    assert expand("a$b$(", {}) == "a$b$("


def test_security_context_precedence_and_run_as_non_root(tmp_path: Path) -> None:
    def plan(pod_sc: dict[str, Any], sc: dict[str, Any]) -> Any:
        container = {"name": "c", "image": "hatchway:dev", "securityContext": sc}
        return _plan(_pod(containers=[container], securityContext=pod_sc), tmp_path)[0]

    image_user = plan({}, {"readOnlyRootFilesystem": True})
    assert (image_user.uid, image_user.gid, image_user.read_only_root) == (65532, 65532, True)
    pod_level = plan({"runAsUser": 1000, "runAsGroup": 1001, "fsGroup": 2000}, {})
    assert (pod_level.uid, pod_level.gid, pod_level.groups) == (1000, 1001, [2000])
    container_wins = plan({"runAsUser": 1000}, {"runAsUser": 7, "allowPrivilegeEscalation": False})
    assert (container_wins.uid, container_wins.no_new_privs) == (7, True)
    with pytest.raises(Unsupported, match="runAsNonRoot"):
        plan({"runAsNonRoot": True}, {"runAsUser": 0})


def test_probes_and_handlers_resolve_named_ports() -> None:
    probe = probe_of(
        {"httpGet": {"path": "/ready", "port": "admin"}, "periodSeconds": 2, "failureThreshold": 1},
        {"admin": 9901},
        "c readinessProbe",
    )
    assert probe is not None
    assert probe.action == Action("http", port=9901, path="/ready")
    assert (probe.period, probe.failure_threshold, probe.timeout) == (2, 1, 1)
    with pytest.raises(Unsupported, match="names no container port"):
        probe_of({"tcpSocket": {"port": "nope"}}, {}, "c livenessProbe")
    with pytest.raises(Unsupported, match="grpc"):
        probe_of({"grpc": {"port": 1}}, {}, "c livenessProbe")


def test_service_links_name_every_port() -> None:
    env = service_env(
        [
            {
                "metadata": {"name": "kubernetes"},
                "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443}]},
            },
            {
                "metadata": {"name": "headless"},
                "spec": {"clusterIP": "None", "ports": [{"port": 1}]},
            },
        ]
    )
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert env["KUBERNETES_SERVICE_PORT"] == "443"
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    assert env["KUBERNETES_PORT_443_TCP"] == "tcp://10.96.0.1:443"
    assert not any(k.startswith("HEADLESS") for k in env)


def test_volumes_are_swapped_atomically_through_dot_data(tmp_path: Path) -> None:
    target = tmp_path / "vol"
    assert write_atomic(target, {"tls.crt": (b"one", 0o644), "a/b": (b"x", 0o600)}, None)
    first = (target / "..data").resolve()
    assert (target / "tls.crt").is_symlink() and (target / "tls.crt").read_text() == "one"
    assert ((target / "a" / "b").stat().st_mode & 0o777) == 0o600
    assert not write_atomic(target, {"tls.crt": (b"one", 0o644), "a/b": (b"x", 0o600)}, None)
    assert write_atomic(target, {"tls.crt": (b"two", 0o644)}, None)
    assert (target / "tls.crt").read_text() == "two"
    assert not (target / "a").exists() and not first.exists()
    names = sorted(p.name for p in target.iterdir())
    assert names[0].startswith("..2") and names[1:] == ["..data", "tls.crt"]


def test_projected_token_is_requested_once_and_renewed_at_80_percent(tmp_path: Path) -> None:
    calls: list[tuple[str | None, int]] = []

    def token(pod: dict[str, Any], audience: str | None, seconds: int) -> tuple[str, float]:
        calls.append((audience, seconds))
        return f"tok{len(calls)}", time.time() + seconds

    pod = _pod(
        containers=[],
        volumes=[
            {
                "name": "kube-api-access",
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
                        {
                            "downwardAPI": {
                                "items": [
                                    {
                                        "path": "namespace",
                                        "fieldRef": {"fieldPath": "metadata.namespace"},
                                    }
                                ]
                            }
                        },
                    ],
                },
            }
        ],
    )
    volumes = PodVolumes(pod, _secret_lookup, token, tmp_path, "10.244.0.5", "10.244.0.1")
    vol = volumes.sync()["kube-api-access"]
    volumes.sync()
    assert calls == [(None, 3607)]
    assert (vol / "token").read_text() == "tok1" and (vol / "namespace").read_text() == "infra"
    volumes._tokens["kube-api-access/token"] = ("tok1", time.time() - 3000, time.time() + 607)
    volumes.sync()
    assert (vol / "token").read_text() == "tok2"
