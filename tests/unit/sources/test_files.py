"""load_paths: files, directories, stdin, bad YAML, unreadable paths, conformance manifests."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import upstream
from hatchway.model.snapshot import KIND_FIELDS
from hatchway.sources.files import load_paths
from hatchway.sources.kube import ObjectCache

ROUTE = """apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {name}
spec:
  parentRefs: [{{name: gw}}]
"""


def test_directory_read_recursively_in_path_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.yml").write_text(ROUTE.format(name="third"))
    (tmp_path / "a.yaml").write_text(
        ROUTE.format(name="first") + "---\n" + ROUTE.format(name="second")
    )
    (tmp_path / "c.json").write_text(
        '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}'
    )
    (tmp_path / "notes.txt").write_text("not: [yaml")
    result = load_paths([str(tmp_path)])
    assert result.errors == ()
    assert [r.metadata.name for r in result.snapshot.http_routes] == ["first", "second", "third"]
    assert result.snapshot.namespaces[0].metadata.name == "n"


def test_stdin() -> None:
    result = load_paths(["-"], stdin=io.StringIO(ROUTE.format(name="piped")))
    assert result.snapshot.http_routes[0].metadata.name == "piped"


def test_bad_yaml_is_an_error_with_position(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(ROUTE.format(name="ok") + "---\nkind: [unclosed\n")
    result = load_paths([str(f)])
    assert [r.metadata.name for r in result.snapshot.http_routes] == ["ok"]
    (err,) = result.errors
    assert (err.file, err.document) == (str(f), 1)
    assert "line" in err.message and "column" in err.message


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "dup.yaml"
    f.write_text("apiVersion: v1\nkind: Namespace\nkind: Namespace\nmetadata: {name: a}\n")
    (err,) = load_paths([str(f)]).errors
    assert "duplicate key" in err.message


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    (err,) = load_paths([str(tmp_path / "nope.yaml")]).errors
    assert err.file == str(tmp_path / "nope.yaml")
    assert err.document is None


def test_undecodable_file_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "bin.yaml"
    f.write_bytes(b"\xff\xfe\x00bad")
    (err,) = load_paths([str(f)]).errors
    assert "cannot read" in err.message


def _conformance_files() -> list[Path]:
    root = upstream.conformance()
    return sorted(p for d in ("base", "tests") for p in (root / d).rglob("*.yaml"))


def test_conformance_manifests_are_valid_input(tmp_path: Path) -> None:
    """Every Gateway API object in the upstream conformance manifests loads without error.

    Files are loaded one by one (tests reuse names across files). The suite fills in
    `{GATEWAY_CLASS_NAME}`-style placeholders before applying; so do we. Kinds we don't model
    (Deployment…) are skipped, nothing else.
    """
    loaded = 0
    for path in _conformance_files():
        text = (
            path.read_text()
            .replace("{GATEWAY_CLASS_NAME}", "hatchway")
            .replace("{GATEWAY_CONTROLLER_NAME}", "hatchway.dev/gateway-controller")
        )
        copy = tmp_path / path.name
        copy.write_text(text)
        result = load_paths([str(copy)])
        assert result.errors == (), f"{path}: {result.errors}"
        loaded += sum(len(getattr(result.snapshot, f)) for f in KIND_FIELDS)
    assert loaded > 300


def test_ten_thousand_routes_load(tmp_path: Path) -> None:
    """Every one of 10,000 routes in one file loads (the time it takes is measured in
    benchmarks/, not asserted here)."""
    route = """apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: route-{i}, namespace: ns-{ns}}}
spec:
  parentRefs: [{{name: gw, namespace: infra, sectionName: http}}]
  hostnames: ["app-{i}.example.com"]
  rules:
  - matches:
    - path: {{type: PathPrefix, value: /api/{i}}}
      headers: [{{name: x-version, value: v{i}}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {{set: [{{name: x-route, value: r{i}}}]}}
    backendRefs:
    - {{name: svc-{i}, port: 8080, weight: 90}}
    - {{name: svc-{i}-canary, port: 8080, weight: 10}}
"""
    f = tmp_path / "many.yaml"
    f.write_text("---\n".join(route.format(i=i, ns=i % 50) for i in range(10_000)))
    result = load_paths([str(f)])
    assert result.errors == ()
    assert len(result.snapshot.http_routes) == 10_000
    assert result.snapshot.http_routes[-1].metadata.name == "route-9999"


def test_loads_and_cluster_parses_say_when_they_were_read(tmp_path: Path) -> None:
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    before = datetime.now(UTC)
    loaded = load_paths([str(tmp_path)])
    cache = ObjectCache(lambda kind, spec: None)
    cache.upsert("Namespace", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})
    parsed = cache.parse()
    after = datetime.now(UTC)
    for result in (loaded, parsed):
        assert [n.metadata.name for n in result.snapshot.namespaces] == ["a"]
        assert result.snapshot.observed_at is not None
        assert before <= result.snapshot.observed_at <= after
