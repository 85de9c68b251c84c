"""A trace as text (what `hatchway explain` prints) or as JSON (`-o json`, and the admin
API's `POST /explain` under serve)."""

from __future__ import annotations

from typing import Any

from hatchway import ir
from hatchway.explain.trace import Trace
from hatchway.ir import codec


def _filters(route: ir.Route) -> list[str]:
    out = []
    if route.request_headers:
        out.append(f"RequestHeaderModifier {_mods(route.request_headers)}")
    if route.response_headers:
        out.append(f"ResponseHeaderModifier {_mods(route.response_headers)}")
    if route.rewrite:
        rw = route.rewrite
        parts = [f"hostname={rw.hostname}"] if rw.hostname else []
        if rw.path:
            parts.append(f"{rw.path.type.value}={rw.path.value}")
        out.append("URLRewrite " + " ".join(parts))
    out.extend(
        f"RequestMirror {m.cluster} ({100 * m.numerator / m.denominator:g}%)" for m in route.mirrors
    )
    if route.cors:
        out.append("CORS origins=" + ",".join(route.cors.allow_origins))
    if route.request_timeout_ms is not None:
        out.append(f"timeout request={route.request_timeout_ms}ms")
    if route.backend_timeout_ms is not None:
        out.append(f"timeout backendRequest={route.backend_timeout_ms}ms")
    if route.retry:
        out.append(f"retry codes={list(route.retry.codes)} attempts={route.retry.attempts}")
    if route.external_auth:
        out.append(_auth(route.external_auth))
    return out


def _auth(auth: ir.ExternalAuth) -> str:
    where = auth.cluster or f"<unresolved {auth.authority}> -> 500"
    return f"ExternalAuth {auth.protocol} {where}"


def _mods(m: ir.HeaderModifier) -> str:
    parts = [f"set {k}={v}" for k, v in m.set]
    parts += [f"add {k}={v}" for k, v in m.add]
    parts += [f"remove {k}" for k in m.remove]
    return ", ".join(parts)


def _describe_match(match: ir.Match) -> str:
    parts = [f"{match.path.type.value} {match.path.value}"]
    if match.method:
        parts.append(f"method {match.method}")
    parts += [f"header {h.name}{'~' if h.regex else '='}{h.value}" for h in match.headers]
    parts += [f"query {q.name}{'~' if q.regex else '='}{q.value}" for q in match.query]
    return ", ".join(parts)


def to_text(trace: Trace, clusters: dict[str, ir.Cluster]) -> str:
    lines = [f"Request    {trace.request.method} {trace.request.target()}"]
    if trace.listener is not None:
        li = trace.listener
        lines.append(f"Socket     {li.protocol.value} {li.address}:{li.port}")
    if trace.virtual_host is not None:
        vh = trace.virtual_host
        lines.append(f"Listener   {vh.listener.ref()}")
        for i, auth in enumerate(vh.external_auth):  # before routing, in this order
            lines.append(f"{'Pre-route' if i == 0 else '':<10} {i}: {_auth(auth)}")
        lines.append(f"Host       {trace.request.host} -> virtual host {vh.domain}")
    route = trace.route
    if route is not None:
        lines.append(f"Route      {route.origin.ref()}")
        lines.append(f"Match      {_describe_match(route.match)}")
        for i, f in enumerate(_filters(route)):
            lines.append(f"{'Filters' if i == 0 else '':<10} {f}")
        action = route.action
        if isinstance(action, ir.Forward):
            total = sum(b.weight for b in action.backends) or 1
            for i, b in enumerate(action.backends):
                label = "Backends" if i == 0 else ""
                share = f"{100 * b.weight / total:.0f}%"
                if b.cluster is None:
                    what = f"<invalid: {b.invalid_reason}> -> 500"
                else:
                    eps = len(clusters[b.cluster].endpoints) if b.cluster in clusters else 0
                    what = f"{b.cluster} ({eps} ready endpoints{', 503' if not eps else ''})"
                lines.append(f"{label:<10} {what} weight {b.weight} ({share})")
        elif isinstance(action, ir.Redirect):
            lines.append(f"Redirect   {_redirect(action)}")
    lines.append(f"Outcome    {trace.outcome}")
    if trace.candidates:
        lines.append("Not chosen")
        width = max(len(c.origin.ref()) for c in trace.candidates)
        lines.extend(f"  {c.origin.ref():<{width}}  {c.reason}" for c in trace.candidates)
    return "\n".join(lines) + "\n"


def _redirect(r: ir.Redirect) -> str:
    parts = [str(r.status_code)]
    if r.scheme:
        parts.append(f"scheme={r.scheme}")
    if r.hostname:
        parts.append(f"hostname={r.hostname}")
    if r.port:
        parts.append(f"port={r.port}")
    if r.path:
        parts.append(f"{r.path.type.value}={r.path.value}")
    return " ".join(parts)


def to_json(trace: Trace) -> dict[str, Any]:
    route = trace.route
    return {
        "request": codec.to_dict(trace.request),
        "outcome": trace.outcome,
        "socket": (
            None
            if trace.listener is None
            else {
                "protocol": trace.listener.protocol.value,
                "address": trace.listener.address,
                "port": trace.listener.port,
            }
        ),
        "listener": None
        if trace.virtual_host is None
        else codec.to_dict(trace.virtual_host.listener),
        "virtualHost": None if trace.virtual_host is None else trace.virtual_host.domain,
        "route": None if route is None else codec.to_dict(route),
        "notChosen": [
            {"origin": codec.to_dict(c.origin), "reason": c.reason} for c in trace.candidates
        ],
    }
