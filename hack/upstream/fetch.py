"""Fetch the upstream Gateway API files Hatchway needs (CRDs, conformance manifests) at a
pinned version from the Go module proxy into a cache, and print where they are.

    python3 hack/upstream/fetch.py crds v1.6.1          # -> <cache>/gateway-api@v1.6.1/crds
    python3 hack/upstream/fetch.py conformance v1.6.1   # -> <cache>/conformance@v1.6.1

Nothing upstream is committed to this repository: the module zip is checked against the
go.sum hash pinned in pins.txt (Go's dirhash "h1"), then only the files needed are unpacked.
Standard library only, so it runs before any venv exists. The cache is
$HATCHWAY_UPSTREAM_CACHE, else $XDG_CACHE_HOME/hatchway-upstream, else ~/.cache/...;
the proxy is the first of $GOPROXY (default https://proxy.golang.org).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import sys
import urllib.request
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES = {"crds": "sigs.k8s.io/gateway-api", "conformance": "sigs.k8s.io/gateway-api/conformance"}


def cache_root() -> Path:
    given = os.environ.get("HATCHWAY_UPSTREAM_CACHE")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hatchway-upstream"


def pinned(module: str, version: str) -> str:
    for line in (HERE / "pins.txt").read_text().splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[:2] == [module, version]:
            return fields[2]
    raise SystemExit(f"fetch.py: {module} {version} is not pinned in {HERE / 'pins.txt'}")


def proxy() -> str:
    for entry in os.environ.get("GOPROXY", "https://proxy.golang.org").replace("|", ",").split(","):
        if entry.startswith(("https://", "http://")):
            return entry.rstrip("/")
    return "https://proxy.golang.org"


def dirhash_h1(archive: zipfile.ZipFile) -> str:
    """Go's `dirhash.Hash1` over a module zip, as go.sum records it."""
    lines = []
    for name in sorted(archive.namelist()):
        digest = hashlib.sha256(archive.read(name)).hexdigest()
        lines.append(f"{digest}  {name}\n")
    summary = hashlib.sha256("".join(lines).encode()).digest()
    return "h1:" + base64.b64encode(summary).decode()


def wanted(what: str, relative: str) -> str | None:
    """Where a module file goes in the cache entry, None to leave it out."""
    if what == "crds":
        prefix = "config/crd/"
        if not relative.startswith(prefix) or not relative.endswith(".yaml"):
            return None
        rest = relative[len(prefix) :]
        return None if "kustomization" in rest or "/" not in rest else rest
    return relative if relative.endswith(".yaml") else None


def fetch(what: str, version: str) -> Path:
    module = MODULES[what]
    dest = cache_root() / f"{module.rsplit('/', 1)[-1]}@{version}" / what
    if (dest / ".complete").exists():
        return dest
    url = f"{proxy()}/{module}/@v/{version}.zip"
    print(f"fetch.py: downloading {url}", file=sys.stderr)
    with urllib.request.urlopen(url, timeout=120) as resp:
        data = resp.read()
    archive = zipfile.ZipFile(io.BytesIO(data))
    got, want = dirhash_h1(archive), pinned(module, version)
    if got != want:
        raise SystemExit(f"fetch.py: {url}: hash {got} is not the pinned {want}")
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    root = f"{module}@{version}/"
    for name in archive.namelist():
        target = wanted(what, name[len(root) :]) if name.startswith(root) else None
        if target is not None:
            (tmp / target).parent.mkdir(parents=True, exist_ok=True)
            (tmp / target).write_bytes(archive.read(name))
    (tmp / ".complete").write_text(f"{module} {version} {want}\n")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in MODULES:
        print(__doc__, file=sys.stderr)
        return 2
    print(fetch(argv[0], argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
