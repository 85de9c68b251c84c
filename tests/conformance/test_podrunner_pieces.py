"""Fast checks of the conformance pod runner's pure parts (the full run is `make conformance`)."""

from __future__ import annotations

import base64
import datetime as dt
import socket
import struct
from pathlib import Path
from typing import Any

import pytest
from podrunner import dns, kubelet
from podrunner.containers import NotReady, Unsupported, plan_pod

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


def test_echo_pod_gets_downward_env_and_secret_files(tmp_path: Path) -> None:
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
    (plan,) = plan_pod(
        pod,
        lookup=_secret_lookup,
        pod_dir=tmp_path,
        pod_ip="10.244.0.5",
        host_ip="10.244.0.1",
        echo_binary="/bin/echo-basic",
    )
    assert plan.argv == ["/bin/echo-basic"]
    assert plan.env["POD_NAME"] == "tls-backend-5d8f7-abcde"
    assert plan.env["NAMESPACE"] == "infra"
    assert Path(plan.env["TLS_SERVER_CERT"]).read_text() == "CERT"
    assert plan.tcp_ports == [3000]


def test_pod_waits_for_missing_secret_and_rejects_unknown_images(tmp_path: Path) -> None:
    missing = _pod(
        containers=[{"name": "c", "image": "registry.k8s.io/gateway-api/echo-basic:v1"}],
        volumes=[{"name": "sv", "secret": {"secretName": "absent"}}],
    )
    with pytest.raises(NotReady):
        plan_pod(
            missing,
            lookup=_secret_lookup,
            pod_dir=tmp_path,
            pod_ip="1",
            host_ip="1",
            echo_binary="e",
        )
    unknown = _pod(containers=[{"name": "c", "image": "nginx:1"}])
    with pytest.raises(Unsupported):
        plan_pod(
            unknown,
            lookup=_secret_lookup,
            pod_dir=tmp_path,
            pod_ip="1",
            host_ip="1",
            echo_binary="e",
        )
