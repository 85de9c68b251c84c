"""The intermediate representation (IR): what the data plane must do, nothing about Gateway API.

The core (`hatchway.translate`) produces it from Gateway API objects; the Envoy step
(`hatchway.xds`) and `hatchway.explain` consume it. It is the decoupling point: the Envoy
step never looks at Gateway API objects, so everything it needs is spelled out here.

Conventions:
- Frozen dataclasses, tuples for sequences, so an IR is hashable and comparable.
- Every ordered collection is already in data-plane order (routes in precedence order,
  virtual hosts in any stable order since Envoy picks by domain specificity).
- Names are stable identities (never list positions) so unchanged input yields
  byte-identical Envoy resources.
"""

from hatchway.ir.backend import (
    AppProtocol,
    Cluster,
    Endpoint,
    UpstreamTLS,
)
from hatchway.ir.listener import (
    IR,
    ClientValidation,
    FilterChain,
    L4Route,
    Listener,
    Protocol,
    TLSCertificate,
    TLSTermination,
)
from hatchway.ir.origin import ROUTE_KINDS, Origin
from hatchway.ir.route import (
    CORS,
    DirectResponse,
    ExternalAuth,
    Forward,
    HeaderMatch,
    HeaderModifier,
    Match,
    Mirror,
    PathMatch,
    PathMatchType,
    PathModifier,
    PathModifierType,
    QueryMatch,
    Redirect,
    Retry,
    Route,
    SessionPersistence,
    URLRewrite,
    VirtualHost,
    WeightedBackend,
)
from hatchway.ir.telemetry import SpanAttribute, Tracing

__all__ = [
    "CORS",
    "IR",
    "ROUTE_KINDS",
    "AppProtocol",
    "ClientValidation",
    "Cluster",
    "DirectResponse",
    "Endpoint",
    "ExternalAuth",
    "FilterChain",
    "Forward",
    "HeaderMatch",
    "HeaderModifier",
    "L4Route",
    "Listener",
    "Match",
    "Mirror",
    "Origin",
    "PathMatch",
    "PathMatchType",
    "PathModifier",
    "PathModifierType",
    "Protocol",
    "QueryMatch",
    "Redirect",
    "Retry",
    "Route",
    "SessionPersistence",
    "SpanAttribute",
    "TLSCertificate",
    "TLSTermination",
    "Tracing",
    "URLRewrite",
    "UpstreamTLS",
    "VirtualHost",
    "WeightedBackend",
]
