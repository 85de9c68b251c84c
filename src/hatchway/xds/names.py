"""Stable Envoy resource names, derived from identities (protocol, address, port, IR names).

Never from list positions: a name that shifts when an unrelated object is added makes Envoy
drain a listener or drop a cluster that did not change (Envoy Gateway #6534, #6287).
"""

from __future__ import annotations

from hatchway.ir import FilterChain, Listener, Protocol

# A cluster name that is never defined. Routes send the invalid-backend share of traffic
# there; Envoy answers it with the route's `cluster_not_found_response_code` (HTTP) or closes
# the connection (TCP, UDP). See `http_actions.forward_action`.
INVALID_BACKEND_CLUSTER = "hatchway/invalid-backend"


def backend_of(cluster: str) -> str | None:
    """`ns/service:port` of a cluster named `ns/service:port[/protocol]` (what logs and
    metrics call the backend; two clusters of one Service port share it); None for ours."""
    parts = cluster.split("/")
    if len(parts) < 2 or ":" not in parts[1] or cluster == INVALID_BACKEND_CLUSTER:
        return None
    return f"{parts[0]}/{parts[1]}"


def listener_name(listener: Listener) -> str:
    """`<protocol>/<address>/<port>`: one Envoy Listener per bound socket."""
    return f"{listener.protocol.value.lower()}/{listener.address}/{listener.port}"


def route_config_name(listener: Listener, chain: FilterChain) -> str:
    """HTTP: one RouteConfiguration per port (the listener has a single chain).

    HTTPS: one per SNI filter chain, so a certificate's hostnames only reach the virtual
    hosts of the Gateway listener that owns them.
    """
    base = listener_name(listener)
    if listener.protocol is Protocol.HTTP:
        return base
    if chain.name.startswith(f"{base}/"):
        return chain.name  # the core already names chains under their socket
    return f"{base}/{chain.name}"


def stat_prefix(listener: Listener, chain: FilterChain | None = None) -> str:
    """Stats keys: dots separate stat path elements, so none inside a prefix."""
    base = f"{listener.protocol.value.lower()}-{listener.port}"
    if chain is None or listener.protocol is Protocol.HTTP:
        return base
    return f"{base}-{chain.name}".replace(".", "_")


def certificate_secret_name(cert_name: str) -> str:
    """SDS Secret for a listener certificate; `cert_name` is `namespace/secret-name`.

    Keyed by the Kubernetes Secret so a rotated certificate changes only the Secret resource:
    Envoy swaps it in place without draining the listener.
    """
    return f"cert/{cert_name}"


def client_ca_secret_name(listener: Listener, chain: FilterChain) -> str:
    """SDS Secret holding a chain's client-certificate validation context (frontend mTLS)."""
    return f"client-ca/{listener_name(listener)}/{chain.name}"
