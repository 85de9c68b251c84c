"""The IR clusters a translation uses: endpoints, and upstream TLS from a BackendTLSPolicy or
an XBackend's own settings (a Gateway's client certificate when the policy asks for one)."""

from __future__ import annotations

from collections.abc import Mapping

from hatchway.ir import Cluster
from hatchway.translate.backends import Backends
from hatchway.translate.btls import Policies
from hatchway.translate.gatewayctx import GatewayCtx
from hatchway.translate.index import Index
from hatchway.translate.settings import Settings
from hatchway.translate.xbackends import xbackend_tls

GatewayKey = tuple[str, str]


def build_clusters(
    index: Index,
    settings: Settings,
    backends: Backends,
    *,
    policies: Policies,
    used: Mapping[str, set[GatewayKey]],
    gateways: Mapping[GatewayKey, GatewayCtx],
) -> tuple[list[Cluster], dict[GatewayKey, set[GatewayKey]]]:
    """Every cluster in `used` (name -> the Gateways using it), by name; and the Gateways
    using each Service (what BackendTLSPolicy statuses are reported against)."""
    clusters: list[Cluster] = []
    service_gateways: dict[GatewayKey, set[GatewayKey]] = {}
    for name in sorted(used):
        spec = backends.specs[name]
        gws = used[name]
        if spec.xbackend is not None:  # its own TLS (never a BackendTLSPolicy's)
            tls = xbackend_tls(index, spec.xbackend, settings.cluster_trust_bundles)
        else:
            assert spec.service is not None
            meta = spec.service.metadata
            service_gateways.setdefault((meta.namespace, meta.name), set()).update(gws)
            client_cert = next(
                (gateways[g].client_cert for g in sorted(gws) if gateways[g].client_cert),
                None,
            )
            tls = policies.upstream_tls(spec, client_cert)
        clusters.append(
            Cluster(
                name=name,
                service=spec.origin,
                port=spec.number,
                protocol=spec.protocol,
                endpoints=backends.endpoints(spec),
                tls=tls,
            )
        )
    return clusters, service_gateways
