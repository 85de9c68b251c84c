"""Route actions: forward (weighted backends, rewrites, mirrors, timeouts, retries),
redirect and direct response."""

from __future__ import annotations

from typing import Any

from envoy.config.route.v3 import route_components_pb2 as rc
from envoy.type.v3 import percent_pb2

from hatchway.ir import DirectResponse, Forward, Mirror, Protocol, Redirect, Route
from hatchway.xds.headers import fill_headers
from hatchway.xds.names import INVALID_BACKEND_CLUSTER
from hatchway.xds.rewrites import full_path_regex, path_rewrite

_REDIRECT_CODES = {
    301: rc.RedirectAction.MOVED_PERMANENTLY,
    302: rc.RedirectAction.FOUND,
    303: rc.RedirectAction.SEE_OTHER,
    307: rc.RedirectAction.TEMPORARY_REDIRECT,
    308: rc.RedirectAction.PERMANENT_REDIRECT,
}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SAFE_RETRY_ON = ("connect-failure", "refused-stream", "reset-before-request")

# gRPC clients see HTTP errors as grpc-status through Envoy's local-reply conversion:
# 503 -> 14 UNAVAILABLE (what the spec asks for invalid gRPC backends), 500 -> 13 INTERNAL.
NO_BACKEND_STATUS_HTTP = 500
NO_BACKEND_STATUS_GRPC = 503


def fill_action(
    out: Any,
    route: Route,
    listener_protocol: Protocol,
    domain: str = "*",
    host_has_port: bool = False,
) -> None:
    """Fill a `route.v3.Route`'s action (route / redirect / direct_response).

    `domain` is the virtual host's domain; `host_has_port` marks the copy of a redirect route
    that only matches a Host with a port (see `redirect_needs_port_variant`).
    """
    action = route.action
    if isinstance(action, Redirect):
        fill_redirect(out.redirect, action, listener_protocol, domain, host_has_port)
    elif isinstance(action, DirectResponse):
        fill_direct(out.direct_response, action.status, action.body)
    elif isinstance(action, Forward):
        if not any(b.cluster is not None and b.weight > 0 for b in action.backends):
            status = NO_BACKEND_STATUS_GRPC if route.grpc else NO_BACKEND_STATUS_HTTP
            fill_direct(out.direct_response, status, "")
        else:
            fill_forward(out.route, route, action)


def _final_scheme(redirect: Redirect, listener_protocol: Protocol) -> str:
    return redirect.scheme or ("https" if listener_protocol is Protocol.HTTPS else "http")


def redirect_needs_port_variant(route: Route, listener_protocol: Protocol, domain: str) -> bool:
    """A redirect whose Location has no port, under a wildcard domain: it needs a copy matching
    only a Host with a port, which then states the default port (see `fill_redirect`)."""
    r = route.action
    return (
        isinstance(r, Redirect)
        and r.hostname is None
        and r.port is not None
        and r.port == _DEFAULT_PORTS.get(_final_scheme(r, listener_protocol))
        and "*" in domain
    )


def match_host_with_port(match: Any) -> None:
    """Add `Host ends with :<digits>` to a RouteMatch (`[::1]` alone does not match)."""
    h = match.headers.add()
    h.name = ":authority"
    h.string_match.safe_regex.regex = ".*:[0-9]+"


def fill_direct(out: Any, status: int, body: str) -> None:
    out.status = status
    if body:
        out.body.inline_string = body


def fill_redirect(
    out: Any,
    redirect: Redirect,
    listener_protocol: Protocol,
    domain: str = "*",
    host_has_port: bool = False,
) -> None:
    if redirect.scheme is not None:
        out.scheme_redirect = redirect.scheme
    if redirect.hostname is not None:
        out.host_redirect = redirect.hostname
    default_port = _DEFAULT_PORTS.get(_final_scheme(redirect, listener_protocol))
    if redirect.port is not None and redirect.port != default_port:
        out.port_redirect = redirect.port  # omitted for 80/http and 443/https: no `:80` in Location
    elif redirect.port is not None and redirect.hostname is None:
        # The port is the scheme's default, so Location carries none, and the request's own
        # port must not leak into it (`Host: h:8080` + scheme https must not give
        # `https://h:8080`). Envoy keeps the Host's port unless host_redirect or port_redirect
        # is set, and prints port_redirect even when it is the default. An exact domain is the
        # request's host (ports are ignored in matching): name it. Under a wildcard domain the
        # copy of the route that matches only a Host with a port states the port (`:443`).
        if "*" not in domain:
            out.host_redirect = domain
        elif host_has_port:
            out.port_redirect = redirect.port
    if redirect.path is not None:
        rewrite = path_rewrite(redirect.path)
        if rewrite.full is not None:
            out.path_redirect = rewrite.full  # keeps the request's query (strip_query false)
        elif rewrite.prefix is not None:
            out.prefix_rewrite = rewrite.prefix
        elif rewrite.regex is not None:
            out.regex_rewrite.pattern.regex, out.regex_rewrite.substitution = rewrite.regex
    out.response_code = _REDIRECT_CODES.get(redirect.status_code, rc.RedirectAction.FOUND)
    out.strip_query = False


def fill_forward(out: Any, route: Route, forward: Forward) -> None:
    """Fill a `RouteAction`. Precondition: at least one valid backend with weight > 0."""
    backends = [b for b in forward.backends if b.weight > 0]
    valid = [b for b in backends if b.cluster is not None]
    invalid_weight = sum(b.weight for b in backends if b.cluster is None)
    simple = (
        len(valid) == 1
        and invalid_weight == 0
        and valid[0].request_headers is None
        and valid[0].response_headers is None
    )
    if simple:
        out.cluster = valid[0].cluster
    else:
        for b in valid:
            cw = out.weighted_clusters.clusters.add()
            cw.name = b.cluster
            cw.weight.value = b.weight
            if b.rewrite is not None and b.rewrite.hostname is not None:
                cw.host_rewrite_literal = b.rewrite.hostname
            fill_headers(cw.request_headers_to_add, cw.request_headers_to_remove, b.request_headers)
            fill_headers(
                cw.response_headers_to_add, cw.response_headers_to_remove, b.response_headers
            )
        if invalid_weight:
            # The invalid share goes to a cluster that never exists; Envoy answers it with
            # `cluster_not_found_response_code`. This needs `validate_clusters: false` on the
            # RouteConfiguration; `validate()` checks every other referenced cluster instead.
            cw = out.weighted_clusters.clusters.add()
            cw.name = INVALID_BACKEND_CLUSTER
            cw.weight.value = invalid_weight
            out.cluster_not_found_response_code = (
                rc.RouteAction.SERVICE_UNAVAILABLE
                if route.grpc
                else rc.RouteAction.INTERNAL_SERVER_ERROR
            )
    rewrite = route.rewrite
    own = valid[0].rewrite if simple else None  # one backend: its hostname rewrite wins
    if own is not None and own.hostname is not None:
        out.host_rewrite_literal = own.hostname
    if rewrite is not None:
        if rewrite.hostname is not None and not out.host_rewrite_literal:
            out.host_rewrite_literal = rewrite.hostname
        if rewrite.path is not None:
            pr = path_rewrite(rewrite.path)
            if pr.full is not None:
                out.regex_rewrite.pattern.regex, out.regex_rewrite.substitution = full_path_regex(
                    pr.full
                )
            elif pr.prefix is not None:
                out.prefix_rewrite = pr.prefix
            elif pr.regex is not None:
                out.regex_rewrite.pattern.regex, out.regex_rewrite.substitution = pr.regex
    for mirror in route.mirrors:
        _add_mirror(out.request_mirror_policies, mirror)
    _fill_timeouts_and_retry(out, route)


def _add_mirror(policies: Any, mirror: Mirror) -> None:
    if mirror.numerator <= 0:
        return  # 0 % mirrored: no policy at all
    p = policies.add()
    p.cluster = mirror.cluster
    p.disable_shadow_host_suffix_append = True  # the mirror sees the same Host as the backend
    if mirror.numerator < mirror.denominator:
        frac = p.runtime_fraction.default_value
        if mirror.denominator == 100:
            frac.numerator = mirror.numerator
            frac.denominator = percent_pb2.FractionalPercent.HUNDRED
        else:
            frac.numerator = mirror.numerator * 1_000_000 // mirror.denominator
            frac.denominator = percent_pb2.FractionalPercent.MILLION


def _set_ms(duration: Any, ms: int) -> None:
    duration.seconds, rest = divmod(ms, 1000)
    duration.nanos = rest * 1_000_000


def _fill_timeouts_and_retry(out: Any, route: Route) -> None:
    """request -> route `timeout` (504 on expiry); backend -> `per_try_timeout` per attempt.

    Envoy's default route timeout is 15 s. When only a backend timeout is set, the route
    timeout is disabled (0) so it cannot cut an attempt, or its retries, shorter.
    A `0` in the IR disables the corresponding timeout.
    """
    request_ms = route.request_timeout_ms
    backend_ms = route.backend_timeout_ms
    if request_ms is not None:
        _set_ms(out.timeout, request_ms)
    elif backend_ms is not None:
        _set_ms(out.timeout, 0)
    retry = route.retry
    if retry is None and not backend_ms:
        return
    policy = out.retry_policy
    if retry is not None and retry.attempts > 0:
        # Only requests the backend did not process are retried (GEP-1731, v1.7): no
        # connection, a refused stream, a reset before anything was sent, or a listed code.
        conditions = list(_SAFE_RETRY_ON)
        if backend_ms:
            # An attempt that outlives `timeouts.backendRequest` is retried too (GEP-1731);
            # Envoy counts a per-try timeout as a reset (which then also covers resets after
            # the request was sent: the user asked for attempts bounded and retried).
            conditions.append("reset")
        if retry.codes:
            conditions.insert(0, "retriable-status-codes")
            policy.retriable_status_codes.extend(retry.codes)
        policy.retry_on = ",".join(conditions)
        policy.num_retries.value = retry.attempts
        if retry.backoff_ms:
            _set_ms(policy.retry_back_off.base_interval, retry.backoff_ms)
    else:
        policy.num_retries.value = 0  # no retries: here to carry per_try_timeout
    if backend_ms:
        _set_ms(policy.per_try_timeout, backend_ms)
