"""A Pod's volumes, materialised under its directory as a kubelet does.

Secret, ConfigMap, downwardAPI and projected volumes (ServiceAccount token, ConfigMap, Secret,
downward API) are written with a kubelet's atomic layout: the files live in a timestamped
directory, `..data` points at it, and each visible name is a symlink through `..data`, so an
update (a rotated Secret, a refreshed token) swaps every file at once with one rename; readers
that watch `..data` (Envoy's watched_directory) see it. `sync` is called again periodically.
emptyDir is a world-writable directory, as a kubelet makes it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podrunner.env import Lookup, NotReady, data_of, field_value
from podrunner.images import Unsupported

DEFAULT_MODE = 0o644
# (Pod, audience or None for the API server's, lifetime in s) -> (token, expiry as epoch s)
TokenSource = Callable[[dict[str, Any], str | None, int], tuple[str, float]]


def _same(directory: Path, files: dict[str, tuple[bytes, int]]) -> bool:
    data = directory / "..data"
    if not data.is_symlink():
        return False
    current = data.resolve()
    have = {str(p.relative_to(current)) for p in current.rglob("*") if p.is_file()}
    if have != set(files):
        return False
    for rel, (content, mode) in files.items():
        path = current / rel
        if path.read_bytes() != content or (path.stat().st_mode & 0o7777) != mode:
            return False
    return True


def write_atomic(directory: Path, files: dict[str, tuple[bytes, int]], gid: int | None) -> bool:
    """Make `directory` hold exactly `files` (relative path -> content, mode); True if changed."""
    directory.mkdir(parents=True, exist_ok=True)
    if _same(directory, files):
        return False
    stamp = directory / (time.strftime("..%Y_%m_%d_%H_%M_%S.") + str(time.monotonic_ns()))
    stamp.mkdir(mode=0o755)
    for rel, (content, mode) in files.items():
        out = stamp / rel
        out.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        out.write_bytes(content)
        if gid is not None:
            os.chown(out, -1, gid)
        os.chmod(out, mode)
    old = (directory / "..data").resolve() if (directory / "..data").is_symlink() else None
    tmp = directory / "..data_tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(stamp.name)
    tmp.rename(directory / "..data")
    tops = {rel.split("/", 1)[0] for rel in files}
    for top in tops:
        link = directory / top
        if not link.is_symlink():
            link.symlink_to(f"..data/{top}")
    for entry in directory.iterdir():
        if entry.is_symlink() and not entry.name.startswith("..") and entry.name not in tops:
            entry.unlink()
    if old is not None and old.parent == directory:
        for p in sorted(old.rglob("*"), reverse=True):
            p.rmdir() if p.is_dir() and not p.is_symlink() else p.unlink()
        old.rmdir()
    return True


def _items(
    data: dict[str, bytes], items: list[dict[str, Any]] | None, mode: int, what: str, optional: bool
) -> dict[str, tuple[bytes, int]]:
    if not items:
        return {k: (v, mode) for k, v in data.items()}
    out: dict[str, tuple[bytes, int]] = {}
    for item in items:
        key = str(item["key"])
        if key not in data:
            if optional:
                continue
            raise NotReady(f"key {key!r} missing in {what}")
        out[str(item["path"])] = (data[key], int(item.get("mode", mode)))
    return out


@dataclass
class PodVolumes:
    pod: dict[str, Any]
    lookup: Lookup
    token: TokenSource
    directory: Path
    pod_ip: str = ""
    host_ip: str = ""
    _tokens: dict[str, tuple[str, float, float]] = field(
        default_factory=dict
    )  # key -> tok, at, exp

    def _token(self, vol: str, src: dict[str, Any]) -> bytes:
        audience = src.get("audience")
        seconds = int(src.get("expirationSeconds") or 3600)
        key = f"{vol}/{src.get('path')}"
        cached = self._tokens.get(key)
        now = time.time()
        # A kubelet renews at 80 % of the lifetime (or after 24 h).
        if cached is None or now >= cached[1] + 0.8 * (cached[2] - cached[1]):
            tok, exp = self.token(self.pod, audience, seconds)
            cached = (tok, now, exp)
            self._tokens[key] = cached
        return cached[0].encode()

    def _projected(self, vol: str, spec: dict[str, Any], ns: str) -> dict[str, tuple[bytes, int]]:
        mode = int(spec.get("defaultMode", DEFAULT_MODE))
        files: dict[str, tuple[bytes, int]] = {}
        for src in spec.get("sources") or []:
            if "serviceAccountToken" in src:
                sat = src["serviceAccountToken"]
                files[str(sat["path"])] = (self._token(vol, sat), mode)
            elif "configMap" in src or "secret" in src:
                kind, ref = (
                    ("ConfigMap", src["configMap"])
                    if "configMap" in src
                    else ("Secret", src["secret"])
                )
                optional = bool(ref.get("optional"))
                data = data_of(self.lookup, kind, ns, str(ref["name"]), optional) or {}
                files.update(
                    _items(data, ref.get("items"), mode, f"{kind} {ns}/{ref['name']}", optional)
                )
            elif "downwardAPI" in src:
                files.update(self._downward(src["downwardAPI"], mode))
            else:
                raise Unsupported(f"volume {vol}: projected source {sorted(src)} is not supported")
        return files

    def _downward(self, spec: dict[str, Any], mode: int) -> dict[str, tuple[bytes, int]]:
        files: dict[str, tuple[bytes, int]] = {}
        for item in spec.get("items") or []:
            if "fieldRef" not in item:
                raise Unsupported(
                    f"downwardAPI item {item.get('path')}: only fieldRef is supported"
                )
            value = field_value(
                self.pod, str(item["fieldRef"]["fieldPath"]), self.pod_ip, self.host_ip
            )
            files[str(item["path"])] = (value.encode(), int(item.get("mode", mode)))
        return files

    def sync(self) -> dict[str, Path]:
        """Write every volume (again); volume name -> its directory. Raises NotReady/Unsupported."""
        ns = str(self.pod["metadata"]["namespace"])
        spec = self.pod.get("spec") or {}
        fs_group = (spec.get("securityContext") or {}).get("fsGroup")
        dirs: dict[str, Path] = {}
        for vol in spec.get("volumes") or []:
            name = str(vol["name"])
            target = self.directory / "volumes" / name
            if "emptyDir" in vol:
                target.mkdir(parents=True, exist_ok=True)
                os.chmod(target, 0o777)
                dirs[name] = target
                continue
            if "secret" in vol or "configMap" in vol:
                kind, src = (
                    ("Secret", vol["secret"])
                    if "secret" in vol
                    else ("ConfigMap", vol["configMap"])
                )
                ref = str(src.get("secretName") if kind == "Secret" else src.get("name"))
                optional = bool(src.get("optional"))
                data = data_of(self.lookup, kind, ns, ref, optional) or {}
                mode = int(src.get("defaultMode", DEFAULT_MODE))
                files = _items(data, src.get("items"), mode, f"{kind} {ns}/{ref}", optional)
            elif "projected" in vol:
                files = self._projected(name, vol["projected"], ns)
            elif "downwardAPI" in vol:
                spec_d = vol["downwardAPI"]
                files = self._downward(spec_d, int(spec_d.get("defaultMode", DEFAULT_MODE)))
            else:
                kinds = sorted(k for k in vol if k != "name")
                raise Unsupported(f"volume {name}: type {kinds} is not supported by the pod runner")
            write_atomic(target, files, fs_group)
            dirs[name] = target
        return dirs
