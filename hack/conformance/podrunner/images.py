"""What an image runs here: images are emulated by local programs, never pulled.

- `hatchway` (any registry prefix and tag: `hatchway:dev`, `ghcr.io/x/hatchway:1`): the
  repository's own image. Its ENTRYPOINT, CMD, USER, WORKDIR and ENV come from the last stage
  of `deploy/Dockerfile`, so a Pod runs exactly what the image would; its PATH starts with the
  repository's `.venv/bin`, where `hatchway`, `envoy` and `python3` are the ones the image holds.
- `gateway-api/echo-basic` and (suite v1.7) `gateway-api/conformance/echo-basic` (every tag): the
  echo server built with the suite (`hack/conformance/build.sh`).
- `coredns/coredns`: the DNS responder of `dns.py` (stdlib only, run by the system Python, since
  the conformance manifest mounts its Corefile over /root, where the venv's Python lives).
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Unsupported(Exception):
    """Something a Pod asks for that the runner does not emulate (reported in its status)."""


@dataclass(frozen=True)
class Image:
    entrypoint: list[str]
    cmd: list[str] = field(default_factory=list)
    user: int | None = None  # None: root
    group: int | None = None
    workdir: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    # Stand-ins of upstream images are Ready once these TCP ports accept (their manifests have
    # no readiness probe and the suite sends traffic as soon as a Pod is Ready).
    stand_in: bool = False
    # Host paths the emulated image holds (the repository with its venv, a built binary):
    # shown in the container at the same path even where its own empty /tmp or /run, or a
    # volume, would hide them (a clone or cache under /tmp).
    host_paths: tuple[str, ...] = ()


def image_name(ref: str) -> str:
    """`ghcr.io/x/hatchway:1@sha256:…` -> `ghcr.io/x/hatchway`."""
    ref = ref.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    return ref[:colon] if colon > slash else ref


def _words(value: str) -> list[str]:
    value = value.strip()
    if value.startswith("["):
        return [str(w) for w in json.loads(value)]
    return ["/bin/sh", "-c", value]  # shell form, as Docker runs it


def _user(value: str) -> tuple[int | None, int | None]:
    user, _, group = value.strip().partition(":")
    if not user.isdigit() or (group and not group.isdigit()):
        # Names need the image's /etc/passwd, which does not exist here.
        raise Unsupported(f"deploy/Dockerfile: USER {value.strip()!r} must be numeric (uid[:gid])")
    return int(user), int(group) if group else None


def parse_dockerfile(text: str) -> Image:
    """The runtime settings of the last stage (continuation lines joined, comments dropped)."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    entrypoint: list[str] = []
    cmd: list[str] = []
    user: tuple[int | None, int | None] = (None, None)
    workdir: str | None = None
    env: dict[str, str] = {}
    for line in lines:
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":  # a new stage starts from scratch (its base is not ours)
            entrypoint, cmd, user, workdir, env = [], [], (None, None), None, {}
        elif word == "ENTRYPOINT":
            entrypoint, cmd = _words(rest), []
        elif word == "CMD":
            cmd = _words(rest)
        elif word == "USER":
            user = _user(rest)
        elif word == "WORKDIR":
            workdir = (
                rest.strip() if rest.strip().startswith("/") else f"{workdir or ''}/{rest.strip()}"
            )
        elif word == "ENV":
            for item in shlex.split(rest):
                key, eq, value = item.partition("=")
                if eq:
                    env[key] = value
    return Image(entrypoint, cmd, user[0], user[1], workdir, env)


class Catalog:
    def __init__(self, repo: Path, echo_binary: str | None) -> None:
        self.repo = repo
        self.echo_binary = echo_binary

    def hatchway(self) -> Image:
        dockerfile = self.repo / "deploy" / "Dockerfile"
        try:
            image = parse_dockerfile(dockerfile.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise Unsupported(f"image hatchway: cannot read {dockerfile}: {exc}") from exc
        venv = self.repo / ".venv" / "bin"
        env = {"PATH": f"{venv}:{IMAGE_PATH}", **image.env}
        if "PATH" in image.env:
            env["PATH"] = f"{venv}:{image.env['PATH']}"
        return Image(
            image.entrypoint,
            image.cmd,
            image.user,
            image.group,
            image.workdir,
            env,
            host_paths=(str(self.repo),),
        )

    def lookup(self, ref: str) -> Image:
        name = image_name(ref)
        if name.rsplit("/", 1)[-1] == "hatchway":
            return self.hatchway()
        if name.endswith(("gateway-api/echo-basic", "gateway-api/conformance/echo-basic")):
            if not self.echo_binary or not Path(self.echo_binary).exists():
                raise Unsupported("image echo-basic: not built (make suite / make prepare)")
            return Image(
                [self.echo_binary],
                env={"PATH": IMAGE_PATH},
                stand_in=True,
                host_paths=(self.echo_binary,),
            )
        if name.endswith("coredns/coredns"):
            python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
            dns = str(Path(__file__).resolve().parent / "dns.py")
            return Image([python, dns], env={"PATH": IMAGE_PATH}, stand_in=True, host_paths=(dns,))
        raise Unsupported(f"no local stand-in for image {ref!r}")
