"""What keeps input from serving, read off statuses in their Kubernetes shape and warnings.

One list for every mode: `hatchway status --check` fails on it, `serve` shows it on `/errors`
and in `/readyz`'s reason, the controller logs it. It works on the rendered dicts because that
is the form every mode has last (after the data plane's verdict is applied).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from hatchway.status.findings import blocks

# Positive-polarity conditions that must be True for an object to serve fully.
MUST_BE_TRUE = frozenset({"Accepted", "ResolvedRefs", "Programmed"})


@dataclass(frozen=True)
class Problem:
    kind: str | None
    namespace: str | None
    name: str | None
    where: str  # e.g. "listener https", "parent Gateway default/gw", "" (the object itself)
    code: str  # a condition reason or a `Finding`
    message: str

    @property
    def object(self) -> str:
        if self.kind is None:
            return "input"
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {ns}{self.name}"

    def to_error(self) -> dict[str, Any]:
        """An item of `GET /errors` (the input-error shape, plus code and severity)."""
        return {
            "file": None,
            "document": None,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "field": None,
            "message": f"{self.where}: {self.message}" if self.where else self.message,
            "code": self.code,
            "severity": "error",
        }

    def __str__(self) -> str:
        where = f" {self.where}" if self.where else ""
        return f"{self.object}{where}: {self.message} [{self.code}]"


def condition_sets(
    resources: Iterable[dict[str, Any]],
) -> Iterator[tuple[dict[str, Any], str, list[dict[str, Any]]]]:
    """Every condition list in the resources: (resource, whose part it is, conditions)."""
    for res in resources:
        st = res.get("status", {})
        yield res, "", st.get("conditions", [])
        for listener in st.get("listeners", []):
            yield res, f"listener {listener['name']}", listener.get("conditions", [])
        for parent in st.get("parents", []):
            yield (
                res,
                f"parent {ref_text(parent.get('parentRef', {}))}",
                parent.get("conditions", []),
            )
        for anc in st.get("ancestors", []):
            yield res, f"ancestor {ref_text(anc.get('ancestorRef', {}))}", anc.get("conditions", [])


def ref_text(ref: dict[str, Any]) -> str:
    s = f"{ref.get('kind', 'Gateway')} {ref.get('namespace', '')}/{ref.get('name')}".replace(
        " /", " "
    )
    if ref.get("sectionName"):
        s += f"/{ref['sectionName']}"
    if ref.get("port"):
        s += f":{ref['port']}"
    return s


def problems(
    resources: Iterable[dict[str, Any]], warnings: Iterable[dict[str, Any]] = ()
) -> list[Problem]:
    """Negative conditions of owned objects, then the warnings that mean "will not serve"."""
    out: list[Problem] = []
    for res, where, conditions in condition_sets(resources):
        meta = res.get("metadata", {})
        for c in conditions:
            bad = (c["type"] in MUST_BE_TRUE and c["status"] != "True") or (
                c["type"] == "PartiallyInvalid" and c["status"] == "True"
            )
            if bad:
                message = f"{c['type']}={c['status']}: {c.get('message', '')}"
                out.append(
                    Problem(
                        res.get("kind"),
                        meta.get("namespace"),
                        meta.get("name"),
                        where,
                        c["reason"],
                        message,
                    )
                )
    for w in warnings:
        if blocks(w["code"]):
            kind, ns, name = _split_object(w["object"])
            out.append(Problem(kind, ns, name, "", w["code"], w["message"]))
    return out


def _split_object(ref: str) -> tuple[str | None, str | None, str | None]:
    """`Kind/namespace/name` or `Kind/name` (cluster-scoped) or `input`."""
    parts = ref.split("/", 2)
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return parts[0], None, parts[1]
    return None, None, None
