"""Rules the CRD's CEL validation would reject still get the spec's reason from the core.

The file loader drops such objects, so golden cases cannot carry them; a Kubernetes source
whose API server runs older CRDs (or none) can. §4.7: incompatible filters make the rule
invalid with reason IncompatibleFilters, never a crash or a silently wrong route.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import snapshots
from hatchway.model.routes import HTTPRoute
from hatchway.status import RouteStatus
from hatchway.translate import translate

GW = "gateway.networking.k8s.io/v1"
BASE: list[dict[str, Any]] = [
    {
        "apiVersion": GW,
        "kind": "GatewayClass",
        "metadata": {"name": "hatchway"},
        "spec": {"controllerName": "hatchway.dev/gateway-controller"},
    },
    {
        "apiVersion": GW,
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "infra"},
        "spec": {
            "gatewayClassName": "hatchway",
            "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
        },
    },
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "v1", "namespace": "infra"},
        "spec": {"ports": [{"name": "http", "port": 80}]},
    },
]
REDIRECT = {"type": "RequestRedirect", "requestRedirect": {"hostname": "example.org"}}
REWRITE_PREFIX = {
    "type": "URLRewrite",
    "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/new"}},
}
BACKENDS = [{"name": "v1", "port": 80}]


def _route_conditions(rules: list[dict[str, Any]]) -> dict[str, tuple[str, str, str]]:
    """Translate one unvalidated HTTPRoute; its parent's conditions by type."""
    snapshot = snapshots.snapshot(BASE, "t")
    route = HTTPRoute.model_validate(
        {
            "apiVersion": GW,
            "kind": "HTTPRoute",
            "metadata": {
                "name": "r",
                "namespace": "infra",
                "generation": 3,
                "creationTimestamp": "2024-01-01T00:00:00Z",
            },
            "spec": {"parentRefs": [{"name": "gw"}], "rules": rules},
        }
    )
    out = translate(replace(snapshot, http_routes=(route,)))
    status = next(s.status for s in out.report.resources if s.key.kind == "HTTPRoute")
    assert isinstance(status, RouteStatus)
    (parent,) = status.parents
    for c in parent.conditions:
        assert c.observed_generation == 3
    return {c.type: (c.status.value, c.reason, c.message) for c in parent.conditions}


def test_redirect_with_backend_refs_rejects_the_only_rule() -> None:
    conds = _route_conditions([{"filters": [REDIRECT], "backendRefs": BACKENDS}])
    assert conds["Accepted"][:2] == ("False", "IncompatibleFilters")
    assert conds["ResolvedRefs"][:2] == ("True", "ResolvedRefs")
    assert "PartiallyInvalid" not in conds


def test_redirect_with_rewrite_drops_that_rule_only() -> None:
    conds = _route_conditions(
        [
            {"matches": [{"path": {"value": "/ok"}}], "backendRefs": BACKENDS},
            {"matches": [{"path": {"value": "/both"}}], "filters": [REDIRECT, REWRITE_PREFIX]},
        ]
    )
    assert conds["Accepted"][:2] == ("True", "Accepted")
    status, reason, message = conds["PartiallyInvalid"]
    assert (status, reason) == ("True", "IncompatibleFilters")
    assert message.startswith("Dropped Rule 1")


def test_replace_prefix_match_needs_a_single_prefix_match() -> None:
    conds = _route_conditions(
        [
            {"matches": [{"path": {"value": "/ok"}}], "backendRefs": BACKENDS},
            {
                "matches": [{"path": {"value": "/a"}}, {"path": {"value": "/b"}}],
                "filters": [REWRITE_PREFIX],
                "backendRefs": BACKENDS,
            },
        ]
    )
    assert conds["PartiallyInvalid"][:2] == ("True", "IncompatibleFilters")
