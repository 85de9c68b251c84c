"""What the console (`GET /` on the admin address) shows, as JSON: the topology Gateway ->
listeners -> routes -> backends with every condition, and `explain` over the running
configuration. The page itself is static (`hatchway/console/`); live rates come from
`/metrics`.

Built from what was last published: the input as translated, the statuses as served, the IR.
A route belongs under a listener as its status says: under the listener its parentRef
names, or under every listener of the Gateway that takes its kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hatchway.explain import Request, explain
from hatchway.explain.show import to_json, to_text
from hatchway.model.gateway import Gateway
from hatchway.runtime.publisher import Published

ROUTE_FIELDS = ("http_routes", "grpc_routes", "tls_routes", "tcp_routes", "udp_routes")
# Which route kinds a listener of each protocol takes (by default).
KINDS_OF = {
    "HTTP": ("HTTPRoute", "GRPCRoute"),
    "HTTPS": ("HTTPRoute", "GRPCRoute"),
    "TLS": ("TLSRoute", "TCPRoute"),
    "TCP": ("TCPRoute",),
    "UDP": ("UDPRoute",),
}
MAX_EXPLAIN_HEADERS = 64


def topology(published: Published | None) -> dict[str, Any]:
    if published is None:
        return {"generation": 0, "gateways": [], "warnings": []}
    status = {_key(r): r.get("status", {}) for r in published.status}
    backends = _backends(published)
    routes = [r for f in ROUTE_FIELDS for r in getattr(published.model, f)]
    gateways = [
        _gateway(g, status, routes, backends)
        for g in published.model.gateways
        if ("Gateway", g.metadata.namespace, g.metadata.name) in status
    ]
    policies = [
        {
            "kind": r["kind"],
            "namespace": r["metadata"]["namespace"],
            "name": r["metadata"]["name"],
            "ancestors": r.get("status", {}).get("ancestors", []),
        }
        for r in published.status
        if r["kind"] in ("BackendTLSPolicy", "XTelemetryPolicy")
    ]
    return {
        "generation": published.generation,
        "gateways": gateways,
        "policies": policies,
        "warnings": published.warnings,
    }


def _key(resource: dict[str, Any]) -> tuple[str, str, str]:
    meta = resource.get("metadata", {})
    return (str(resource.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name")))


def _backends(published: Published) -> dict[tuple[str, str, int], dict[str, Any]]:
    """(namespace, service, port) -> what the data plane has for it (ready endpoints)."""
    out: dict[tuple[str, str, int], dict[str, Any]] = {}
    for c in published.ir.clusters:
        key = (c.service.namespace, c.service.name, c.port)
        known = out.setdefault(key, {"endpoints": 0})
        known["endpoints"] = max(known["endpoints"], len(c.endpoints))
    return out


def _gateway(
    g: Gateway,
    status: dict[tuple[str, str, str], dict[str, Any]],
    routes: list[Any],
    backends: dict[tuple[str, str, int], dict[str, Any]],
) -> dict[str, Any]:
    ns, name = g.metadata.namespace, g.metadata.name
    st = status[("Gateway", ns, name)]
    listener_status = {ls.get("name"): ls for ls in st.get("listeners", [])}
    listeners = []
    for spec in g.spec.listeners:
        ls = listener_status.get(spec.name, {})
        attached = [
            _route(r, parent, backends)
            for r in routes
            for parent in _parents(status, r, ns, name)
            if _on_listener(parent, spec.name, spec.protocol, r.kind)
        ]
        listeners.append(
            {
                "name": spec.name,
                "port": spec.port,
                "protocol": spec.protocol,
                "hostname": spec.hostname,
                "attachedRoutes": ls.get("attachedRoutes", 0),
                "conditions": _conditions(ls.get("conditions", [])),
                "routes": attached,
            }
        )
    return {
        "namespace": ns,
        "name": name,
        "gatewayClassName": g.spec.gateway_class_name,
        "addresses": [a.get("value") for a in st.get("addresses", [])],
        "conditions": _conditions(st.get("conditions", [])),
        "listeners": listeners,
    }


def _parents(
    status: dict[tuple[str, str, str], dict[str, Any]], route: Any, ns: str, name: str
) -> Iterable[dict[str, Any]]:
    """The route's status entries for parent Gateway `ns/name`."""
    meta = route.metadata
    st = status.get((route.kind, meta.namespace, meta.name), {})
    for parent in st.get("parents", []):
        ref = parent.get("parentRef", {})
        if ref.get("kind", "Gateway") != "Gateway" or ref.get("name") != name:
            continue
        if (ref.get("namespace") or meta.namespace) == ns:
            yield parent


def _on_listener(parent: dict[str, Any], listener: str, protocol: str, kind: str) -> bool:
    section = parent.get("parentRef", {}).get("sectionName")
    if section is not None:
        return bool(section == listener)
    return kind in KINDS_OF.get(protocol, ())


def _route(
    route: Any, parent: dict[str, Any], backends: dict[tuple[str, str, int], dict[str, Any]]
) -> dict[str, Any]:
    meta = route.metadata
    rules = []
    for i, rule in enumerate(route.spec.rules):
        refs = []
        for ref in rule.backend_refs:
            ref_ns = ref.namespace or meta.namespace
            found = backends.get((ref_ns, ref.name, ref.port or 0))
            refs.append(
                {
                    "name": f"{ref_ns}/{ref.name}:{ref.port}",
                    "weight": ref.weight,
                    "served": found is not None,
                    "endpoints": found["endpoints"] if found else 0,
                }
            )
        rules.append({"index": i, "name": getattr(rule, "name", None), "backends": refs})
    return {
        "kind": route.kind,
        "namespace": meta.namespace,
        "name": meta.name,
        "hostnames": list(getattr(route.spec, "hostnames", ())),
        "conditions": _conditions(parent.get("conditions", [])),
        "rules": rules,
    }


def _conditions(conds: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each condition with whether it is good news (`ok`): True for most types, False for
    those whose True is bad (`Conflicted`, `PartiallyInvalid`)."""
    out = []
    for c in conds:
        bad_when_true = c.get("type") in ("Conflicted", "PartiallyInvalid")
        ok = (c.get("status") == "True") != bad_when_true
        out.append(
            {
                "type": c.get("type"),
                "status": c.get("status"),
                "reason": c.get("reason"),
                "message": c.get("message"),
                "ok": ok,
            }
        )
    return out


def explain_request(
    published: Published | None, url: str, method: str, headers: list[str]
) -> dict[str, Any]:
    """`hatchway explain` over the running configuration: the trace as JSON and as text."""
    if published is None:
        raise ValueError("nothing is published yet")
    if not url:
        raise ValueError("a URL is required")
    pairs = []
    for raw in headers[:MAX_EXPLAIN_HEADERS]:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"header {raw!r} is not 'Name: value'")
        pairs.append((name.strip(), value.strip()))
    request = Request.from_url(url, method or "GET", tuple(pairs))
    trace = explain(published.ir, published.report, request)
    clusters = {c.name: c for c in published.ir.clusters}
    return {"trace": to_json(trace), "text": to_text(trace, clusters)}
