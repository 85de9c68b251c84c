"""The container launcher (hack/conformance/podrunner/launch.py) for real: a mount namespace
with an overlay root, volumes at their container paths, a read-only root, the Pod's uid, and
exec into a running container. Needs root (namespaces, mounts), as the pod runner does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

LAUNCH = Path(__file__).resolve().parents[2] / "hack" / "conformance" / "podrunner" / "launch.py"
SA = "/var/run/secrets/kubernetes.io/serviceaccount"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and mounts need root")


def _spec(tmp_path: Path, argv: list[str], **extra: Any) -> Path:
    for d in ("rootfs", "layer"):
        (tmp_path / d).mkdir(exist_ok=True)
    spec = {
        "netns": None,
        "rootfs": str(tmp_path / "rootfs"),
        "layer": str(tmp_path / "layer"),
        "mounts": [],
        "read_only_root": False,
        "hostname": "pod-a",
        "hosts": "127.0.0.1\tlocalhost\n10.244.0.9\tpod-a\n",
        "traverse": [],
        "uid": 0,
        "gid": 0,
        "groups": [],
        "workdir": None,
        "argv": argv,
        "env": {"PATH": "/usr/bin:/bin"},
        **extra,
    }
    path = tmp_path / f"spec-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(spec))
    return path


def _run(spec: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(LAUNCH), str(spec)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _mounts() -> int:
    return len(Path("/proc/self/mountinfo").read_text().splitlines())


def test_volumes_at_real_paths_read_only_root_and_pod_user(tmp_path: Path) -> None:
    token = tmp_path / "vol-sa"
    token.mkdir()
    (token / "token").write_text("secret-token")
    scratch = tmp_path / "vol-tmp"
    scratch.mkdir()
    os.chmod(scratch, 0o777)
    script = (
        "id -u; id -g; cat " + SA + "/token; echo; cat /etc/hostname; hostname; "
        "touch /written 2>&1 | sed 's/.*: //'; touch " + SA + "/x 2>&1 | sed 's/.*: //'; "
        "touch /tmp/ok && echo tmp-ok; ls -A /tmp; grep pod-a /etc/hosts"
    )
    before = _mounts()
    out = _run(
        _spec(
            tmp_path,
            ["sh", "-c", script],
            mounts=[[str(token), SA, True], [str(scratch), "/tmp", False]],
            read_only_root=True,
            uid=65532,
            gid=65532,
        )
    )
    assert out.returncode == 0, out.stderr + out.stdout
    assert out.stdout.splitlines() == [
        "65532",
        "65532",
        "secret-token",
        "pod-a",
        "pod-a",
        "Read-only file system",
        "Read-only file system",
        "tmp-ok",
        "ok",  # the host's /tmp is not the container's: only what the container wrote
        "10.244.0.9\tpod-a",
    ]
    assert (scratch / "ok").exists()  # the volume is the host directory itself
    assert (
        not Path("/run/secrets").exists() or not (Path("/run/secrets") / "kubernetes.io").exists()
    )
    assert _mounts() == before  # every mount lived in the container's own namespace
    assert not (tmp_path / "rootfs" / "proc" / "self").exists()


def test_a_writable_root_keeps_writes_in_the_container_layer(tmp_path: Path) -> None:
    out = _run(
        _spec(tmp_path, ["sh", "-c", "echo x > /etc/podrunner-test && cat /etc/podrunner-test"])
    )
    assert out.returncode == 0 and out.stdout == "x\n", out.stderr
    assert not Path("/etc/podrunner-test").exists()


def test_exit_codes_say_why_a_start_failed(tmp_path: Path) -> None:
    missing = _run(_spec(tmp_path, ["no-such-program"]))
    assert missing.returncode == 127 and "no-such-program" in missing.stderr
    bad_mount = _run(_spec(tmp_path, ["true"], mounts=[[str(tmp_path / "absent"), "/x", False]]))
    assert bad_mount.returncode == 128 and "cannot start the container" in bad_mount.stderr


def test_exec_joins_a_running_container(tmp_path: Path) -> None:
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "f").write_text("inside\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            str(LAUNCH),
            str(_spec(tmp_path, ["sleep", "30"], mounts=[[str(vol), "/data", True]], uid=1234)),
        ]
    )
    try:
        time.sleep(1)
        spec = _spec(
            tmp_path, ["sh", "-c", "id -u; cat /data/f; hostname"], join=proc.pid, uid=1234
        )
        out = _run(spec)
        assert out.stdout.splitlines() == ["1234", "inside", "pod-a"], out.stderr
    finally:
        proc.kill()
        proc.wait()


def test_an_image_under_tmp_runs_though_the_container_has_its_own_tmp(tmp_path: Path) -> None:
    """A clone (and its venv) under /tmp is the image's own: bound at its host path after
    the volumes, so neither the image's empty /tmp nor an emptyDir at /tmp hides it."""
    sys.path.insert(0, str(LAUNCH.parent.parent))
    from podrunner.containers import _host_paths
    from podrunner.images import Image

    repo = tmp_path / "clone"
    (repo / "bin").mkdir(parents=True)
    program = repo / "bin" / "hello"
    program.write_text("#!/bin/sh\necho hello from the image\n")
    program.chmod(0o755)
    scratch = tmp_path / "empty-dir"
    scratch.mkdir()
    image = Image([str(program)], host_paths=(str(repo),))
    assert _host_paths(image) == [(str(repo), str(repo), True)]
    assert _host_paths(Image(["/usr/bin/env"], host_paths=("/usr/bin",))) == []
    emptydir = [str(scratch), "/tmp", False]
    hidden = _run(_spec(tmp_path, [str(program)], mounts=[emptydir], read_only_root=True))
    assert hidden.returncode != 0  # what the container saw before: its /tmp is empty
    shown = _run(
        _spec(
            tmp_path,
            [str(program)],
            mounts=[emptydir, *map(list, _host_paths(image))],
            read_only_root=True,
        )
    )
    assert shown.returncode == 0, shown.stderr + shown.stdout
    assert shown.stdout == "hello from the image\n"
