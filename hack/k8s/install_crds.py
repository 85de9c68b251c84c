"""Install (create or replace) the CustomResourceDefinitions of YAML files and wait until
the API server serves them. Standard library plus PyYAML, so the rig needs no kubectl.

    python hack/k8s/install_crds.py --kubeconfig FILE (CRDS.yaml | DIR)...

A directory stands for its *.yaml files in name order.
"""

from __future__ import annotations

import argparse
import base64
import json
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


class Api:
    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        self.server = cluster["server"]
        self._tmp = tempfile.TemporaryDirectory(prefix="hatchway-crds-")
        files = {}
        for field in ("certificate-authority-data", "client-certificate-data", "client-key-data"):
            path = Path(self._tmp.name) / field
            path.write_bytes(base64.b64decode(user.get(field) or cluster[field]))
            files[field] = str(path)
        self.ctx = ssl.create_default_context(cafile=files["certificate-authority-data"])
        self.ctx.load_cert_chain(files["client-certificate-data"], files["client-key-data"])

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, context=self.ctx, timeout=30) as resp:
            return json.loads(resp.read())


def install(api: Api, crd: dict[str, Any]) -> None:
    name = crd["metadata"]["name"]
    try:
        api.call("POST", CRD_PATH, crd)
    except urllib.error.HTTPError as exc:
        if exc.code != 409:
            message = f"install_crds: {name}: HTTP {exc.code}: {exc.read().decode()}"
            raise SystemExit(message) from exc
        current = api.call("GET", f"{CRD_PATH}/{name}")
        crd["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        api.call("PUT", f"{CRD_PATH}/{name}", crd)


def established(api: Api, name: str) -> bool:
    # Right after creation the API server returns `status.conditions: null`, not an empty list.
    status = api.call("GET", f"{CRD_PATH}/{name}").get("status") or {}
    conditions = status.get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    api = Api(args.kubeconfig)
    names = []
    files = [f for p in args.files for f in (sorted(p.glob("*.yaml")) if p.is_dir() else [p])]
    for file in files:
        for doc in yaml.safe_load_all(file.read_text()):
            # Other documents (the upgrade-guard ValidatingAdmissionPolicy) are not needed here.
            if doc and doc.get("kind") == "CustomResourceDefinition":
                install(api, doc)
                names.append(doc["metadata"]["name"])
    deadline = time.monotonic() + 60
    pending = list(names)
    while pending and time.monotonic() < deadline:
        pending = [n for n in pending if not established(api, n)]
        if pending:
            time.sleep(0.2)
    if pending:
        print(f"install_crds: not established after 60 s: {pending}", file=sys.stderr)
        return 1
    print(f"install_crds: {len(names)} CRDs established", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
