"""Edge-proxy safety defaults, in one place, each with the reason for its value.

The gateway faces untrusted clients. Envoy's defaults are tuned for a trusted mesh, so every
listener we generate applies these values (issue "data plane", part 6). They are plain data,
so an operator-facing setting can later override a field without touching the builders.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hardening:
    # --- Paths: one canonical form before routing, so `/public/../admin`, `//admin` or
    # `/admin%2F..` cannot reach a route that a prefix match meant to exclude.
    normalize_path: bool = True  # RFC 3986 dot-segment removal and percent-decoding of unreserved
    merge_slashes: bool = True  # `//admin` routes like `/admin`
    # Escaped slashes (%2F, %5C) are unescaped and the client is redirected to the canonical
    # path: the request is matched exactly as the backend will see it, and a client that
    # sent an escaped slash on purpose gets a visible redirect instead of a silent rewrite.
    unescape_and_redirect_slashes: bool = True

    # --- Headers. `X_Forwarded_For` is read as `X-Forwarded-For` by CGI-style backends (nginx,
    # PHP, WSGI), so a client could smuggle a trusted-looking header past our matching and
    # modifiers. DROP_HEADER (not REJECT_REQUEST) removes it while still serving the request:
    # some clients send harmless underscore headers and a 400 breaks them for no gain.
    drop_headers_with_underscores: bool = True
    max_request_headers_kb: int = 60  # Envoy's default, stated explicitly; caps header memory
    max_headers_count: int = 100  # header-flood limit per request (HTTP/1 and HTTP/2)

    # --- Timeouts (seconds). A client must not hold resources by being slow.
    request_headers_timeout_s: int = 10  # slowloris: the whole header block within 10 s
    # The whole request, body included, within 5 min (Envoy's edge-proxy guide value;
    # `stream_idle_timeout` alone restarts on every byte, so a client trickling a body
    # could hold a stream and its upstream request for ever). The timer stops once the
    # response starts, so WebSocket and gRPC streams that answer early are not cut; one
    # upload slower than this is (answered 408). Envoy Gateway leaves it unset unless a
    # ClientTrafficPolicy sets `timeout.http.requestReceivedTimeout`.
    request_timeout_s: int = 300
    stream_idle_timeout_s: int = 300  # no bytes either way on a stream for 5 min -> reset
    connection_idle_timeout_s: int = (
        900  # idle downstream keep-alive connection closed after 15 min
    )
    drain_timeout_s: int = 5  # HTTP/2 GOAWAY grace when a listener drains

    # --- Client address: we are the edge, so the peer address is the client. XFF from the
    # client is appended to, never trusted (0 trusted hops): nobody can spoof their IP for
    # backends that log or authorise by X-Forwarded-For / X-Envoy-External-Address.
    use_remote_address: bool = True
    xff_num_trusted_hops: int = 0

    # --- HTTP/2: bound per-connection concurrency and buffering (CVE-2023-44487 "rapid reset"
    # class and memory exhaustion through large windows).
    http2_max_concurrent_streams: int = 100
    http2_initial_stream_window_size: int = 65_536  # 64 KiB, the RFC default
    http2_initial_connection_window_size: int = 1_048_576  # 1 MiB

    # --- Connections and buffers.
    # Per filter chain (one per listener for HTTP/TCP; per SNI for HTTPS/TLS). Excess
    # connections are closed at accept. The process-wide cap is the bootstrap's overload
    # manager `global_downstream_max_connections`.
    max_connections_per_chain: int = 20_000
    # Per-connection read/write buffer: Envoy stops reading from a socket above this, so a
    # slow reader or a fast writer cannot make Envoy buffer unbounded data (Envoy default 1 MiB).
    # HTTP/HTTPS listeners (client side): 32 KiB, Envoy's edge-proxy recommendation; it bounds
    # what a hostile client can park in the gateway and costs nothing measurable on requests.
    per_connection_buffer_limit_bytes: int = 32_768
    # TCP/TLS listeners (tcp_proxy) stream bulk bytes. Measured against Envoy's default
    # (1 MiB), medians of 6 alternating 2 s streams: 32 KiB 0.67-0.80x, 64 KiB 0.92x,
    # 128 KiB 0.86x, 256 KiB 1.02x. 256 KiB is still a hard bound, 4x below the default.
    l4_per_connection_buffer_limit_bytes: int = 262_144
    # Upstream connections go to the operator's own Services, not to untrusted clients; same
    # value, so bulk streams run at full speed both ways.
    upstream_per_connection_buffer_limit_bytes: int = 262_144


DEFAULT_HARDENING = Hardening()
