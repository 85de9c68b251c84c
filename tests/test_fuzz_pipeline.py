"""Fuzz: hostile mutations of the golden inputs through the whole offline pipeline.

decode -> parse -> translate -> xds.build -> xds.validate (plus status rendering and
explain), as `hatchway serve` runs it. Mutations are structural (types swapped, huge and
negative numbers, deep nesting, keys dropped or renamed, items repeated, weird strings with
CR/LF/NUL/`;`/pseudo-headers/non-ASCII) and textual (YAML tags that do not construct, dates
that do not exist, null keys, self-containing aliases, alias bombs). Properties:

- no exception escapes;
- nothing is dropped silently: a document that yields no object has an error naming it;
- every message is bounded and carries no private key material.

The suite runs a fixed, bounded set (HATCHWAY_FUZZ_EXAMPLES, 200 by default, derandomized);
`make fuzz` runs many more with fresh randomness (results in README.md).
"""

from __future__ import annotations

import base64
import copy
import os
import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hatchway import render, xds
from hatchway.explain import Request, explain
from hatchway.model.documents import Document, InputError
from hatchway.model.kinds import KINDS
from hatchway.model.parse import parse_files
from hatchway.sources.files import _decode
from hatchway.translate import translate
from snapshots import documents

CASES = Path(__file__).parent / "golden" / "translate"
TEXTS = {p.parent.name: p.read_text() for p in sorted(CASES.glob("*/input.yaml"))}
NAMES = sorted(TEXTS)
EXAMPLES = int(os.environ.get("HATCHWAY_FUZZ_EXAMPLES", "200"))
FRESH = os.environ.get("HATCHWAY_FUZZ_FRESH") == "1"  # `make fuzz`: new randomness each run
MESSAGE_BOUND = 3000

WEIRD: list[Any] = [
    None, True, False, 0, -1, 2**31, 2**32, 2**32 + 1, 2**63, 2**64, -(2**63) - 1, 10**30,
    1.5, float("nan"), float("inf"), "", " ", "x" * 5000, "\r\nx-injected: 1", "a\x00b",
    "host", "Host", ":authority", ":path", "/c;Max-Age=999999999;SameSite=None", "a/b",
    "team/x", "Ünïcødé", "*", "..", "/(a{1000}){1000}", "(?=x)", "/(a+)+$", "%2F", "80",
    [], {}, [1, 2], {"a": 1}, [None], {"": ""},
]  # fmt: skip
TAGGED = [
    "!!float x", "!!timestamp nope", "2024-02-30", "!!int 12x", "!!bool maybe", "!!binary x",
    "!!str 1", "!!null x", "<<", "!!set {a}", "!!omap [a: 1]", "!foo x", "1" + "0" * 5000,
    ".nan", "-.inf", "0x1F", "0o17", "1_000", "~", "yes",
]  # fmt: skip
KEY_LINES = ["~: 1", "? [a]\n: b", "1: one", "true: t", "null: x", "2020-01-01: d"]


def _paths(root: Any) -> list[tuple[Any, ...]]:
    """Paths to every value, but not inside one already made deep (no recursion here)."""
    out: list[tuple[Any, ...]] = []
    todo: list[tuple[tuple[Any, ...], Any]] = [((), root)]
    while todo:
        path, node = todo.pop()
        out.append(path)
        if len(path) > 30:
            continue
        if isinstance(node, dict):
            todo += [((*path, k), v) for k, v in node.items()]
        elif isinstance(node, list):
            todo += [((*path, i), v) for i, v in enumerate(node)]
    return sorted(out, key=lambda p: [str(k) for k in p])


def _deep(levels: int, as_dict: bool) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"a": value} if as_dict else [value]
    return value


def _weird_string(draw: Any, base: str) -> str:
    insert = draw(st.sampled_from(["\r\n", "\n", "\x00", ";", " ", "/", ":", "é", "\t", "*"]))
    at = draw(st.integers(0, len(base)))
    return base[:at] + insert + base[at:]


@st.composite
def _mutated_objects(draw: Any) -> list[Any]:
    docs = [d for d in yaml.safe_load_all(TEXTS[draw(st.sampled_from(NAMES))]) if d is not None]
    for _ in range(draw(st.integers(1, 4))):
        target = draw(st.integers(0, len(docs) - 1))
        path = draw(st.sampled_from(_paths(docs[target])))
        parent: Any = None
        node: Any = docs[target]
        for key in path:
            parent, node = node, node[key]
        op = draw(st.sampled_from(["weird", "deep", "drop", "repeat", "string", "rename", "int"]))
        if op == "weird":
            value = copy.deepcopy(draw(st.sampled_from(WEIRD)))
        elif op == "deep":
            value = _deep(draw(st.sampled_from([40, 120, 1000])), draw(st.booleans()))
        elif op == "string" and isinstance(node, str):
            value = _weird_string(draw, node)
        elif op == "int":
            value = draw(st.one_of(st.integers(), st.integers(2**31 - 2, 2**64 + 2)))
        elif op == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
            continue
        elif op == "repeat" and isinstance(parent, list):
            parent.append(node)  # shared, as an alias would (and never deep-copied)
            continue
        elif op == "rename" and isinstance(parent, dict):
            parent[_weird_string(draw, str(path[-1]))] = parent.pop(path[-1])
            continue
        else:
            value = copy.deepcopy(draw(st.sampled_from(WEIRD)))
        if parent is None:
            docs[target] = value
        else:
            parent[path[-1]] = value
    return docs


@st.composite
def _mutated_text(draw: Any) -> str:
    """YAML text of mutated objects with tags, odd keys and aliases spliced into it."""
    docs = draw(_mutated_objects())
    try:
        text = yaml.safe_dump_all(docs, sort_keys=False, width=10_000)
    except (RecursionError, yaml.YAMLError):  # too deep to emit: keep the golden text
        text = TEXTS[NAMES[0]]
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        op = draw(st.sampled_from(["tag", "key", "alias", "bomb"]))
        indent = line[: len(line) - len(line.lstrip(" -"))]
        if op == "tag" and ": " in line:
            lines[i] = line.split(": ", 1)[0] + ": " + draw(st.sampled_from(TAGGED))
        elif op == "key" and ": " in line:
            lines.insert(i, indent + draw(st.sampled_from(KEY_LINES)))
        elif op == "alias" and ": " in line:
            lines[i] = line.split(": ", 1)[0] + ": &a [x, *a]" if draw(st.booleans()) else line
        elif op == "bomb" and ": " in line:
            bomb = "&l0 [a,a,a,a,a,a,a,a,a]"
            lines[i] = line.split(": ", 1)[0] + ": " + bomb
            for n in range(1, 8):
                lines.insert(i + n, f"{indent}l{n}: &l{n} [{','.join([f'*l{n - 1}'] * 9)}]")
    return "\n".join(lines)


def _pipeline(docs: list[Document], errors: list[InputError]) -> list[str]:
    """Everything `serve` does with a load, offline; the messages it produced."""
    result = parse_files([("fuzz.yaml", docs)])
    errors = [*errors, *result.errors]
    translation = translate(result.snapshot)
    report = render.report_to_dicts(translation.report)
    resources = xds.build(translation.ir)
    problems = xds.validate(resources)
    explain(translation.ir, translation.report, Request.from_url("http://example.com:80/a"))
    _not_dropped_silently(docs, errors, result.snapshot)
    messages = [str(e) for e in errors] + [p.message for p in problems]
    messages += [w["message"] for w in report["warnings"]]
    for res in report["resources"]:
        for c in _conditions(res.get("status", {})):
            messages.append(c.get("message", ""))
    return messages


def _conditions(status: dict[str, Any]) -> list[dict[str, Any]]:
    out = list(status.get("conditions", []))
    for key in ("listeners", "parents", "ancestors"):
        for item in status.get(key, []):
            out += item.get("conditions", [])
    return out


def _not_dropped_silently(docs: list[Document], errors: list[InputError], snapshot: Any) -> None:
    with_errors = {e.document for e in errors}
    present = {
        (o.kind, o.metadata.namespace, o.metadata.name)
        for info in KINDS.values()
        for o in getattr(snapshot, info.field)
    }
    for doc in docs:
        body = doc.body
        if doc.index in with_errors or not isinstance(body, dict):
            continue
        kind, meta = body.get("kind"), body.get("metadata")
        if kind not in KINDS or not isinstance(meta, dict):
            continue
        ns = (meta.get("namespace") or "default") if KINDS[kind].namespaced else ""
        key = (kind, ns, meta.get("name"))
        assert key in present, f"document {doc.index} ({key}) dropped without an error"


def _secret_fragments() -> set[str]:
    """Middle pieces of every private key in the golden inputs."""
    out: set[str] = set()
    for text in TEXTS.values():
        for doc in yaml.safe_load_all(text):
            if not isinstance(doc, dict) or doc.get("kind") != "Secret":
                continue
            for source in ("data", "stringData"):
                for key, value in (doc.get(source) or {}).items():
                    if "key" not in key or not isinstance(value, str):
                        continue
                    pem = base64.b64decode(value).decode() if source == "data" else value
                    body = "".join(pem.strip().splitlines()[1:-1])
                    out |= {body[i : i + 16] for i in range(0, max(len(body) - 16, 1), 16)}
    return {f for f in out if len(f) == 16}


SECRETS = _secret_fragments()


def _check(messages: list[str]) -> None:
    for m in messages:
        assert len(m) <= MESSAGE_BOUND, m[:300]
        assert "PRIVATE KEY" not in m, m[:300]
        assert not any(f in m for f in SECRETS), m[:300]


_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not FRESH,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@_SETTINGS
@given(docs=_mutated_objects())
def test_mutated_objects_through_the_pipeline(docs: list[Any]) -> None:
    _check(_pipeline(documents(docs, "fuzz.yaml"), []))


@_SETTINGS
@given(text=_mutated_text())
def test_mutated_yaml_text_through_the_pipeline(text: str) -> None:
    docs: list[Document] = []
    errors: list[InputError] = []
    _decode("fuzz.yaml", text, docs, errors)
    _check(_pipeline(docs, errors))


def test_secrets_are_there_to_be_looked_for() -> None:
    assert len(SECRETS) > 10
    assert re.fullmatch(r"[A-Za-z0-9+/=]{16}", next(iter(SECRETS)))
