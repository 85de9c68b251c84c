"""Canonical YAML/JSON rendering of statuses, IR and xDS (used by the CLI and golden tests).

Output is stable: resources sorted by identity, mapping keys sorted when dumped, lists kept in
their meaningful order (conditions in the order the core writes them, routes in precedence
order).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from hatchway.ir import IR
from hatchway.ir.codec import to_dict
from hatchway.status import (
    AnyStatus,
    Condition,
    GatewayAddress,
    GatewayClassStatus,
    GatewayStatus,
    ListenerSetStatus,
    ListenerStatus,
    ParentRef,
    PolicyStatus,
    ReportWarning,
    ResourceStatus,
    RouteStatus,
    StatusReport,
)
from hatchway.status.findings import severity


def condition_to_dict(c: Condition) -> dict[str, Any]:
    return {
        "type": c.type,
        "status": str(c.status),
        "reason": c.reason,
        "message": c.message,
        "observedGeneration": c.observed_generation,
    }


def _conditions(cs: tuple[Condition, ...]) -> list[dict[str, Any]]:
    return [condition_to_dict(c) for c in cs]


def _parent_ref(p: ParentRef) -> dict[str, Any]:
    out: dict[str, Any] = {"group": p.group, "kind": p.kind, "name": p.name}
    if p.namespace is not None:
        out["namespace"] = p.namespace
    if p.section_name is not None:
        out["sectionName"] = p.section_name
    if p.port is not None:
        out["port"] = p.port
    return out


def _listener(ls: ListenerStatus) -> dict[str, Any]:
    return {
        "name": ls.name,
        "supportedKinds": [{"group": k.group, "kind": k.kind} for k in ls.supported_kinds],
        "attachedRoutes": ls.attached_routes,
        "conditions": _conditions(ls.conditions),
    }


def _address(a: GatewayAddress) -> dict[str, Any]:
    out: dict[str, Any] = {"type": a.type, "value": a.value}
    if a.routability is not None:
        out["routability"] = a.routability
    return out


def status_to_dict(status: AnyStatus) -> dict[str, Any]:
    """The `status` stanza exactly as the Kubernetes status subresource takes it."""
    if isinstance(status, GatewayClassStatus):
        return {
            "conditions": _conditions(status.conditions),
            "supportedFeatures": [{"name": f} for f in status.supported_features],
        }
    if isinstance(status, GatewayStatus):
        out: dict[str, Any] = {
            "addresses": [_address(a) for a in status.addresses],
            "conditions": _conditions(status.conditions),
            "listeners": [_listener(ls) for ls in status.listeners],
        }
        if status.attached_listener_sets is not None:
            out["attachedListenerSets"] = status.attached_listener_sets
        return out
    if isinstance(status, ListenerSetStatus):
        return {
            "conditions": _conditions(status.conditions),
            "listeners": [_listener(ls) for ls in status.listeners],
        }
    if isinstance(status, RouteStatus):
        return {
            "parents": [
                {
                    "parentRef": _parent_ref(p.parent_ref),
                    "controllerName": p.controller_name,
                    "conditions": _conditions(p.conditions),
                }
                for p in status.parents
            ]
        }
    assert isinstance(status, PolicyStatus)
    return {
        "ancestors": [
            {
                "ancestorRef": _parent_ref(a.ancestor_ref),
                "controllerName": a.controller_name,
                "conditions": _conditions(a.conditions),
            }
            for a in status.ancestors
        ]
    }


def resource_to_dict(r: ResourceStatus) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": r.key.name, "generation": r.generation}
    if r.key.namespace is not None:
        meta["namespace"] = r.key.namespace
    return {
        "apiVersion": r.key.api_version,
        "kind": r.key.kind,
        "metadata": meta,
        "status": status_to_dict(r.status),
    }


class StatusDicts:
    """`resource_to_dict` for a sequence of reports, reusing the dict of every status object
    seen in the previous one (a translation memo hands back the very same statuses for
    routes that did not change). The dicts are shared: callers must not modify them."""

    def __init__(self) -> None:
        self._last: dict[int, tuple[ResourceStatus, dict[str, Any]]] = {}

    def __call__(self, resources: Iterable[ResourceStatus]) -> list[dict[str, Any]]:
        fresh: dict[int, tuple[ResourceStatus, dict[str, Any]]] = {}
        out: list[dict[str, Any]] = []
        for r in resources:
            hit = self._last.get(id(r))
            if hit is None or hit[0] is not r:
                hit = (r, resource_to_dict(r))
            fresh[id(r)] = hit
            out.append(hit[1])
        self._last = fresh
        return out


def warning_to_dict(w: ReportWarning) -> dict[str, Any]:
    return {
        "object": w.object,
        "code": str(w.code),
        "severity": severity(w.code),
        "message": w.message,
    }


def report_to_dicts(report: StatusReport, dicts: StatusDicts | None = None) -> dict[str, Any]:
    """`{"resources": [...], "warnings": [...]}`: the body of `GET /status` and `status -o json`."""
    ordered = report.resources  # sorted by key (translation keeps them so)
    return {
        "resources": dicts(ordered) if dicts else [resource_to_dict(r) for r in ordered],
        "warnings": [warning_to_dict(w) for w in sorted(report.warnings)],
    }


def ir_to_dicts(ir: IR) -> dict[str, Any]:
    data = to_dict(ir)
    assert isinstance(data, dict)
    return data


def dump_yaml(data: Any) -> str:
    """Stable YAML: sorted mapping keys, block style, unicode kept, no aliases."""

    class _NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return yaml.dump(
        data,
        Dumper=_NoAliases,
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )
