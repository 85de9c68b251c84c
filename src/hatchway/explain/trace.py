"""Which listener, virtual host, route and backends a request reaches, and why the rest did not.

The walk mirrors Envoy's own decisions over the IR the Envoy step is built from:
socket by port → filter chain by SNI → virtual host by most specific domain → first route
in IR order whose match holds. Because the order is the IR's, explain and Envoy cannot
disagree about precedence.
"""

from __future__ import annotations

from dataclasses import dataclass

from hatchway import ir
from hatchway.explain.request import Request
from hatchway.ir.re2 import full_match
from hatchway.status.report import RouteStatus, StatusReport

_ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")


@dataclass(frozen=True)
class Candidate:
    """A route rule match that did not win, and the first reason it lost."""

    origin: ir.Origin
    reason: str


@dataclass(frozen=True)
class Trace:
    request: Request
    outcome: str  # one line: what the client gets
    listener: ir.Listener | None = None
    chain: ir.FilterChain | None = None
    virtual_host: ir.VirtualHost | None = None
    route: ir.Route | None = None
    candidates: tuple[Candidate, ...] = ()


def explain(model: ir.IR, report: StatusReport, request: Request) -> Trace:
    sockets = [
        li
        for li in model.listeners
        if li.port == request.port and li.protocol in (ir.Protocol.HTTP, ir.Protocol.HTTPS)
    ]
    unattached = tuple(_unattached(report))
    if not sockets:
        return Trace(request, f"connection refused: no HTTP(S) listener on port {request.port}")
    listener = _pick_socket(sockets, request)
    chain = _pick_chain(listener.chains, request.host)
    if chain is None or chain.virtual_hosts is None:
        return Trace(
            request, f"TLS handshake fails: no certificate for SNI {request.host!r}", listener
        )
    vhost = pick_virtual_host(chain.virtual_hosts, request.host)
    others = [
        Candidate(r.origin, f"hostname: serves {vh.domain}, not {request.host}")
        for c in listener.chains
        if c.virtual_hosts is not None
        for vh in c.virtual_hosts
        if vh is not vhost
        for r in vh.routes
    ]
    if vhost is None:
        outcome = f"404: no listener matches host {request.host!r}"
        return Trace(request, outcome, listener, chain, None, None, (*others, *unattached))
    winner: ir.Route | None = None
    lost: list[Candidate] = []
    for route in vhost.routes:
        why = mismatch(route.match, request)
        if winner is None and why is None:
            winner = route
        elif why is None and winner is not None:
            lost.append(Candidate(route.origin, f"precedence: {winner.origin.ref()} wins"))
        else:
            lost.append(Candidate(route.origin, why or ""))
    candidates = (*lost, *others, *unattached)
    if winner is None:
        no_match = "gRPC UNIMPLEMENTED" if request.grpc else "404"
        outcome = f"{no_match}: no route on {vhost.domain} matches"
        return Trace(
            request, _checked(vhost, None, outcome), listener, chain, vhost, None, candidates
        )
    outcome = _checked(vhost, winner, _outcome(winner))
    return Trace(request, outcome, listener, chain, vhost, winner, candidates)


def _checked(vhost: ir.VirtualHost, route: ir.Route | None, outcome: str) -> str:
    """`outcome`, said to depend on the ExternalAuth services that run first: the
    listener's (before routing; their header changes may choose another route) and the
    route's. What they answer is not known offline."""
    services = [
        *vhost.external_auth,
        *([route.external_auth] if route and route.external_auth else []),
    ]
    if not services:
        return outcome
    return f"{outcome}, if {len(services)} ExternalAuth service(s) allow it (else their answer)"


def _pick_socket(sockets: list[ir.Listener], request: Request) -> ir.Listener:
    # Prefer the protocol the URL's scheme implies when both exist on different addresses.
    want = ir.Protocol.HTTPS if request.scheme == "https" else ir.Protocol.HTTP
    return next((s for s in sockets if s.protocol == want), sockets[0])


def _pick_chain(chains: tuple[ir.FilterChain, ...], sni: str) -> ir.FilterChain | None:
    """Envoy's server_names match: exact, then the longest wildcard suffix, then no names."""
    best: tuple[int, ir.FilterChain] | None = None
    for chain in chains:
        for name in chain.server_names:
            score = _domain_score(name, sni)
            if score is not None and (best is None or score > best[0]):
                best = (score, chain)
    if best is not None:
        return best[1]
    return next((c for c in chains if not c.server_names), None)


def pick_virtual_host(vhosts: tuple[ir.VirtualHost, ...], host: str) -> ir.VirtualHost | None:
    """Envoy's domain search: exact, then longest `*.suffix`, then `*`."""
    best: tuple[int, ir.VirtualHost] | None = None
    for vh in vhosts:
        score = _domain_score(vh.domain, host)
        if score is not None and (best is None or score > best[0]):
            best = (score, vh)
    return best[1] if best else None


def _domain_score(domain: str, host: str) -> int | None:
    domain = domain.lower()
    if domain == "*":
        return 0
    if domain.startswith("*"):
        suffix = domain[1:]
        # Envoy's wildcard must cover at least one character.
        return len(suffix) if host.endswith(suffix) and len(host) > len(suffix) else None
    return 1_000_000 if domain == host else None


def mismatch(match: ir.Match, request: Request) -> str | None:
    """The first condition of `match` the request fails, or None if it matches."""
    why = _path_mismatch(match.path, request.path)
    if why:
        return why
    if match.method is not None and match.method != request.method:
        return f"method: wants {match.method}, request is {request.method}"
    for h in match.headers:
        value = request.header(h.name)
        if value is None:
            return f"header: {h.name} missing"
        if not _value_matches(h.value, value, h.regex):
            return f"header: {h.name}={value!r} does not match {h.value!r}"
    for q in match.query:
        value = request.query_value(q.name)
        if value is None:
            return f"query: {q.name} missing"
        if not _value_matches(q.value, value, q.regex):
            return f"query: {q.name}={value!r} does not match {q.value!r}"
    return None


def _path_mismatch(pm: ir.PathMatch, path: str) -> str | None:
    if pm.type is ir.PathMatchType.EXACT:
        ok = path == pm.value
    elif pm.type is ir.PathMatchType.PREFIX:
        ok = path_prefix_matches(pm.value, path)
    else:
        ok = _full_match(pm.value, path)
    return None if ok else f"path: {path} does not match {pm.type.value} {pm.value}"


def path_prefix_matches(prefix: str, path: str) -> bool:
    """Gateway API PathPrefix: element-wise, `/foo` matches `/foo/bar` but never `/foobar`."""
    prefix = prefix.rstrip("/")
    if not prefix:
        return True
    return path == prefix or path.startswith(prefix + "/")


def _value_matches(pattern: str, value: str, regex: bool) -> bool:
    return _full_match(pattern, value) if regex else pattern == value


def _full_match(pattern: str, value: str) -> bool:
    # RE2, as Envoy: linear time (Python's `re` took > 15 s on `/(a+)+$`), same dialect.
    return full_match(pattern, value)


def _outcome(route: ir.Route) -> str:
    action = route.action
    if isinstance(action, ir.Redirect):
        return f"{action.status_code} redirect"
    if isinstance(action, ir.DirectResponse):
        return f"{action.status} direct response"
    valid = [b for b in action.backends if b.cluster is not None and b.weight > 0]
    if not valid:
        return "UNAVAILABLE: no valid backend" if route.grpc else "500: no valid backend"
    return "forwarded"


def _unattached(report: StatusReport) -> list[Candidate]:
    """Routes whose parent entries are not Accepted: they reach no listener at all."""
    out = []
    for res in report.resources:
        if res.key.kind not in _ROUTE_KINDS or not isinstance(res.status, RouteStatus):
            continue
        for parent in res.status.parents:
            accepted = next((c for c in parent.conditions if c.type == "Accepted"), None)
            if accepted is not None and accepted.status != "True":
                origin = ir.Origin(res.key.kind, res.key.namespace or "", res.key.name)
                ref = parent.parent_ref
                out.append(
                    Candidate(
                        origin,
                        f"not attached to {ref.kind} {ref.name}: {accepted.reason}: "
                        f"{accepted.message}",
                    )
                )
    return out
