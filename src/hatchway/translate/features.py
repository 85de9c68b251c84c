"""The conformance features Hatchway claims in `GatewayClass.status.supportedFeatures`.

ONE list, so data-plane work can extend it (and the lead trim it) in one place. Claim a
feature only when it works end to end (translate + Envoy + conformance-style test): the
conformance suite runs every test whose features are all listed here. Each entry below has an
end-to-end test in tests/e2e (HTTP: test_http_*.py; TLS, gRPC, L4: test_tls_*, test_grpc_*,
test_tcp_*, test_udp_*, test_backend_tls_*).

GatewayAddressEmpty: an `IPAddress` without a value gets the runtime's assigned address
(`hatchway controller --gateway-address-pool`), else the bind address; verified by the
conformance test GatewayOptionalAddressValue.

HTTPRouteDestinationPortMatching: a parentRef `port` selects listeners by port (GEP-957);
verified by HTTPRouteInvalidParentRefNotMatchingListenerPort and the parentRef golden cases.

GatewayInfrastructurePropagation: claimed only by a data plane per Gateway (the controller's
default, provisioned mode: `DATA_PLANE_FEATURES`), whose generated objects carry the
Gateway's infrastructure labels and annotations; `serve` and the embedded controller generate
nothing to label.

Not claimed (yet): HTTPRouteSessionPersistence (pins only within one Service: Envoy picks the
weighted cluster before the session host).
"""

from __future__ import annotations

SUPPORTED_FEATURES: tuple[str, ...] = tuple(
    sorted(
        {
            # Core
            "Gateway",
            "HTTPRoute",
            "ReferenceGrant",
            "GRPCRoute",
            "TLSRoute",
            "TCPRoute",
            "UDPRoute",
            # Gateway extended
            "GatewayPort8080",
            "GatewayStaticAddresses",
            "GatewayAddressEmpty",
            "GatewayHTTPListenerIsolation",
            "GatewayHTTPSListenerDetectMisdirectedRequests",
            "GatewayFrontendClientCertificateValidation",
            "GatewayFrontendClientCertificateValidationInsecureFallback",
            "GatewayBackendClientCertificate",
            "ListenerSet",
            # HTTPRoute extended
            "HTTPRouteBackendRequestHeaderModification",
            "HTTPRouteQueryParamMatching",
            "HTTPRouteMethodMatching",
            "HTTPRouteResponseHeaderModification",
            "HTTPRoutePortRedirect",
            "HTTPRouteSchemeRedirect",
            "HTTPRoutePathRedirect",
            "HTTPRouteHostRewrite",
            "HTTPRoutePathRewrite",
            "HTTPRouteRequestMirror",
            "HTTPRouteRequestMultipleMirrors",
            "HTTPRouteRequestPercentageMirror",
            "HTTPRouteRequestTimeout",
            "HTTPRouteBackendTimeout",
            "HTTPRouteParentRefPort",
            "HTTPRouteDestinationPortMatching",
            "HTTPRouteBackendProtocolH2C",
            "HTTPRouteBackendProtocolWebSocket",
            "HTTPRouteNamedRouteRule",
            "HTTPRouteCORS",
            "HTTPRoute303RedirectStatusCode",
            "HTTPRoute307RedirectStatusCode",
            "HTTPRoute308RedirectStatusCode",
            "HTTPRouteRetry",
            "HTTPRouteRetryBackendTimeout",
            "HTTPRouteRetryConnectionError",
            # GRPCRoute / TLSRoute extended
            "GRPCRouteNamedRouteRule",
            "TLSRouteModeTerminate",
            "TLSRouteModeMixed",
            # BackendTLSPolicy
            "BackendTLSPolicy",
            "BackendTLSPolicySANValidation",
        }
    )
)


# Claimed on top of SUPPORTED_FEATURES when every Gateway gets its own provisioned proxies.
DATA_PLANE_FEATURES: tuple[str, ...] = ("GatewayInfrastructurePropagation",)
