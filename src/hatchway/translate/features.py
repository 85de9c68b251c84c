"""The conformance features Hatchway claims in `GatewayClass.status.supportedFeatures`.

ONE list, so data-plane work can extend it (and the lead trim it) in one place. Claim a
feature only when it works end to end (translate + Envoy + conformance-style test): the
conformance suite runs every test whose features are all listed here.
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
            "GatewayHTTPListenerIsolation",
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
            "HTTPRouteBackendProtocolH2C",
            "HTTPRouteBackendProtocolWebSocket",
            "HTTPRouteNamedRouteRule",
            "HTTPRouteCORS",
            "HTTPRoute303RedirectStatusCode",
            "HTTPRoute307RedirectStatusCode",
            "HTTPRoute308RedirectStatusCode",
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
