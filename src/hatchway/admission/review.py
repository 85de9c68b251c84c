"""An object about to be written, judged against the cluster as the controller sees it.

`review(body, operation, snapshot)` -> `Verdict(denied, warnings)`:

- **Denied**: only what cannot serve whatever else exists, found by the very checks the
  controller applies: the model's validation (an object it cannot read is dropped and never
  served) and `translate.refusals` (values Envoy refuses: a regex RE2 rejects, a header
  filter that touches Host...; status drops such a rule with UnsupportedValue). Only for
  our objects (`scope`); never for what depends on other objects (a Service created a
  second later). On UPDATE a problem the stored object already had is warned about, not
  denied (as the API server ratchets CRD validation): a label change must not be refused
  for an old fault.
- **Warnings**: what `hatchway status` would flag about the object once written: the
  snapshot is translated with the object put in (incrementally with a `TranslateMemo`) and
  the object's findings read off (`findings`).

`Verdict.settled` is False when the answer rests on objects that may be missing from the
view only because it lags the API server (a Gateway applied a moment before its routes):
the server asks again once its view moves, within its time budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel

from hatchway.admission.findings import (
    Line,
    findings,
    for_kubectl,
    object_ref,
    settled,
    warnings_about,
)
from hatchway.admission.scope import Claim, Ownership, claim, raw_claim
from hatchway.ir import IR
from hatchway.model.documents import InputError
from hatchway.model.kinds import KINDS
from hatchway.model.parse import Document, parse_documents
from hatchway.model.routes import GRPCRoute, HTTPRoute
from hatchway.model.snapshot import Snapshot
from hatchway.translate import Settings, TranslateMemo, refusals, translate
from hatchway.translate.ignored import ignored

# The kinds the webhook judges: those Hatchway serves or writes status for.
ADMITTED = frozenset(
    {
        "GatewayClass",
        "Gateway",
        "ListenerSet",
        "HTTPRoute",
        "GRPCRoute",
        "TLSRoute",
        "TCPRoute",
        "UDPRoute",
        "BackendTLSPolicy",
    }
)


@dataclass(frozen=True)
class Verdict:
    denied: tuple[str, ...] = ()  # `field: message`, one per problem
    warnings: tuple[str, ...] = ()
    settled: bool = True
    findings_due: bool = False  # asked without findings, and the object has some to look for

    @property
    def allowed(self) -> bool:
        return not self.denied


@dataclass(frozen=True)
class _Read:
    """An admitted body as the model reads it."""

    kind: str
    namespace: str | None
    name: str
    body: dict[str, Any]
    model: BaseModel | None
    faults: tuple[str, ...]  # what cannot serve: validation errors, then refusals
    unread: bool = False  # a version (or shape) the model does not read at all: not judged


def review(
    body: object,
    operation: str,
    snapshot: Snapshot,
    settings: Settings | None = None,
    *,
    memo: TranslateMemo | None = None,
    old: object = None,
    with_findings: bool = True,
) -> Verdict:
    """The verdict on writing `body` (`operation` CREATE or UPDATE; `old`: the stored object
    on UPDATE) into a cluster whose other objects are `snapshot`. Without findings, only
    whether it is denied (no translation: cheap)."""
    if operation not in ("CREATE", "UPDATE") or not isinstance(body, dict):
        return Verdict()
    read = _read(body)
    if read is None or read.unread:
        return Verdict()
    settings = settings or Settings()
    ownership = Ownership(snapshot, settings.controller_name)
    if read.model is None:
        who = raw_claim(read.kind, read.body, read.namespace or "", ownership)
    elif read.kind == "BackendTLSPolicy":
        who = Claim.OURS  # ours when translation gives it a status from us (no faults of its own)
    else:
        who = claim(read.model, ownership)
    if who is Claim.OTHER:
        return Verdict()
    faults = _new_faults(read, operation, old)
    if who is Claim.OURS and faults:
        return Verdict(denied=faults)
    if not with_findings:
        return Verdict(findings_due=True)
    if who is Claim.UNCLAIMED:
        # Not judged (perhaps ours a moment later: asked again then); warned as status warns.
        unclaimed = _unclaimed(read, snapshot, settings) if read.model is not None else []
        return Verdict(warnings=for_kubectl(unclaimed), settled=False)
    lines: list[Line] = [
        (f"{_spoken(read)}: {f} (not served)", "UnsupportedValue")
        for f in read.faults
        if f not in faults
    ]
    if read.model is not None:
        result = translate(with_object(snapshot, read.model), settings, memo)
        lines += findings(result.report, read.kind, read.namespace, read.name)
    return Verdict(warnings=for_kubectl(lines), settled=settled(lines))


def _spoken(read: _Read) -> str:
    ns = f"{read.namespace}/" if read.namespace else ""
    return f"{read.kind} {ns}{read.name}"


def denial_message(verdict: Verdict, body: object) -> str:
    """`HTTPRoute ns/name cannot be served by Hatchway: field: message; ...`."""
    read = _read(body) if isinstance(body, dict) else None
    who = _spoken(read) if read is not None else "the object"
    return f"{who} cannot be served by Hatchway: " + "; ".join(verdict.denied)


def _read(body: dict[str, Any]) -> _Read | None:
    kind = body.get("kind")
    if not isinstance(kind, str) or kind not in ADMITTED:
        return None
    meta = body.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name = meta.get("name")
    name = name if isinstance(name, str) else ""
    namespace = meta.get("namespace")
    namespace = namespace if isinstance(namespace, str) and KINDS[kind].namespaced else None
    parsed = parse_documents([Document("admission", 0, body)])
    errors = parsed.errors
    if any(e.field == "apiVersion" for e in errors):
        return _Read(kind, namespace, name, body, None, (), unread=True)
    objects: Sequence[BaseModel] = getattr(parsed.snapshot, KINDS[kind].field)
    if errors or len(objects) != 1:
        return _Read(kind, namespace, name, body, None, tuple(_error_text(e) for e in errors))
    model = objects[0]
    faults: list[str] = []
    if isinstance(model, HTTPRoute | GRPCRoute):
        faults = [f"{field}: {message}" for field, message in refusals.route(model)]
    ns = model.metadata.namespace if KINDS[kind].namespaced else None  # type: ignore[attr-defined]
    return _Read(kind, ns, name, body, model, tuple(faults))


def _error_text(e: InputError) -> str:
    return f"{e.field}: {e.message}" if e.field else e.message


def _new_faults(read: _Read, operation: str, old: object) -> tuple[str, ...]:
    """`read`'s faults, less those the stored object had already (UPDATE)."""
    if operation != "UPDATE" or not isinstance(old, dict) or not read.faults:
        return read.faults
    before = _read(old)
    had = set(before.faults) if before is not None else set()
    return tuple(f for f in read.faults if f not in had)


def with_object(snapshot: Snapshot, obj: BaseModel) -> Snapshot:
    """`snapshot` with `obj` in place of the object of the same kind and name (or added)."""
    field = KINDS[obj.kind].field  # type: ignore[attr-defined]
    items: tuple[Any, ...] = getattr(snapshot, field)
    meta = obj.metadata  # type: ignore[attr-defined]
    for i, other in enumerate(items):
        if other.metadata.name == meta.name and other.metadata.namespace == meta.namespace:
            return replace(snapshot, **{field: (*items[:i], obj, *items[i + 1 :])})  # type: ignore[arg-type]
    return replace(snapshot, **{field: (*items, obj)})  # type: ignore[arg-type]


def _unclaimed(read: _Read, snapshot: Snapshot, settings: Settings) -> list[Line]:
    """What `status` says about an object nobody serves (its class or parents are missing):
    `translate.ignored` on the parents and the object alone (nothing else can matter)."""
    assert read.model is not None
    parents = Snapshot(
        gateway_classes=snapshot.gateway_classes,
        gateways=snapshot.gateways,
        listener_sets=snapshot.listener_sets,
    )
    found = ignored(with_object(parents, read.model), settings, IR())
    return warnings_about(found, object_ref(read.kind, read.namespace, read.name))
