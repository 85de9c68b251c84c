"""Hostile or broken YAML is one file's error (with its position), never an exception, and
never unbounded work: tags that do not construct, non-string keys, self-containing aliases,
"billion laughs", nesting without end."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from hatchway.sources import decoding
from hatchway.sources.files import load_paths

NS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\n"


def _load(tmp_path: Path, text: str) -> tuple[list[str], list[str]]:
    """(names of the Namespaces loaded, error lines) for one file holding `text`."""
    f = tmp_path / "in.yaml"
    f.write_text(NS + text)
    result = load_paths([str(f)])
    return [n.metadata.name for n in result.snapshot.namespaces], [str(e) for e in result.errors]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("!!float x", "cannot read 'x' as float"),
        ("!!timestamp nope", "cannot read 'nope' as timestamp"),
        ("!!bool maybe", "cannot read 'maybe' as bool"),
        ("!!int 12x", "cannot read '12x' as int"),
        ("!!binary x", "base64"),
        ("!!python/name:os.system", "could not determine a constructor"),
    ],
)
def test_a_tag_that_does_not_construct_is_an_error_at_its_line(
    tmp_path: Path, value: str, why: str
) -> None:
    names, errors = _load(
        tmp_path, f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {value}\n"
    )
    assert names == ["ok"]  # the document before it still loads
    (error,) = errors
    assert "in.yaml (document 1)" in error and why in error and "line 8" in error, error


def test_a_date_that_does_not_exist_is_a_string_as_in_kubernetes() -> None:
    assert list(decoding.load_all("a: 2024-02-30\nb: 2024-02-28\nc: 1" + "0" * 5000)) == [
        {"a": "2024-02-30", "b": __import__("datetime").date(2024, 2, 28), "c": "1" + "0" * 5000}
    ]


def test_keys_are_strings_as_kubernetes_reads_them() -> None:
    assert list(decoding.load_all("1: a\ntrue: b\n1.5: c\n")) == [
        {"1": "a", "true": "b", "1.5": "c"}
    ]
    for text in ("~: 1", "? !!null\n: 1", "a: {null: 1}"):
        with pytest.raises(yaml.YAMLError, match="a mapping key must be a string, not null"):
            list(decoding.load_all(text))


def test_a_merge_key_used_as_a_value_is_the_string() -> None:
    assert list(decoding.load_all("a: <<\nb: [<<]\n")) == [{"a": "<<", "b": ["<<"]}]


def test_an_alias_that_contains_itself_is_an_error(tmp_path: Path) -> None:
    names, errors = _load(
        tmp_path, "apiVersion: v1\nkind: Namespace\nmetadata: &m {name: x, labels: *m}\n"
    )
    assert names == ["ok"]
    (error,) = errors
    assert "alias 'm' refers to a value that contains itself" in error


def test_nesting_is_bounded_also_through_aliases() -> None:
    deep = "[" * (decoding.MAX_DEPTH + 1) + "]" * (decoding.MAX_DEPTH + 1)
    with pytest.raises(yaml.YAMLError, match="nested deeper than 100 levels"):
        list(decoding.load_all(f"a: {deep}"))
    # Each part is shallow enough as written, together they are not.
    text = f"a: &a {'[' * 60}{']' * 60}\nb: &b [*a]\nc: {'[' * 45}*b{']' * 45}\n"
    with pytest.raises(yaml.YAMLError, match="nested deeper than 100 levels"):
        list(decoding.load_all(text))


def billion_laughs(levels: int = 9) -> str:
    lines = ["apiVersion: v1", "kind: Namespace", "metadata:", "  name: lol"]
    lines.append('  l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]')
    lines += [f"  l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    lines.append(f"  labels: *l{levels}")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_before_anything_walks_it(tmp_path: Path) -> None:
    bomb = billion_laughs()
    assert len(bomb.encode()) < 600
    names, errors = _load(tmp_path, bomb)
    assert names == ["ok"]
    (error,) = errors
    assert "too many values through aliases" in error
    # Honest aliasing (shared defaults merged into many objects) is fine.
    shared = "d: &d {a: 1, b: 2, c: 3}\n" + "".join(
        f"o{i}: {{<<: *d, n: {i}}}\n" for i in range(2000)
    )
    (doc,) = decoding.load_all(shared)
    assert isinstance(doc, dict) and doc["o1999"] == {"a": 1, "b": 2, "c": 3, "n": 1999}


_BOUNDED = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (400 * 2**20, 400 * 2**20))
    from hatchway.model.parse import Document, parse_documents
    from hatchway.sources.files import load_paths
    result = load_paths([sys.argv[1]])
    print(len(result.errors), max(len(str(e)) for e in result.errors))
    # The same bomb built in memory (as a decoder without limits would hand it over): the
    # parser's error path must not expand it either.
    level = ["lol"] * 9
    for _ in range(9):
        level = [level] * 9
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lol", "labels": level}}
    body["spec"] = {"nested": level}
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": level}, "spec": {"hostnames": level, "rules": level}}
    result = parse_documents([Document("mem", 0, body), Document("mem", 1, route)])
    print(len(result.errors), max(len(str(e)) for e in result.errors))
    """
)


def test_alias_bomb_errors_come_back_in_bounded_memory(tmp_path: Path) -> None:
    """Work is bounded, asserted by memory, not time: the child may use at most 400 MB
    (today's error path needed 370 MB for this bomb and 5.4 GB for a deeper one)."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs(levels=9))
    proc = subprocess.run(
        [sys.executable, "-c", _BOUNDED, str(bomb)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    first, second = proc.stdout.split("\n")[:2]
    assert first.split()[0] == "1" and int(first.split()[1]) < 500
    count, longest = map(int, second.split())
    assert count >= 2 and longest < 2000
