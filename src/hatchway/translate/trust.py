"""ClusterTrustBundles (certificates.k8s.io) as CA certificates in `caCertificateRefs`, for
BackendTLSPolicy and Gateway frontend TLS validation (GEP-5075, feature ClusterTrustBundle).

Cluster-scoped: no ReferenceGrant. A bundle that is missing, empty or holds no certificate is
an invalid CA certificate reference; where the API is not available (an older cluster, the
feature gate off) the kind itself is unresolvable.
"""

from __future__ import annotations

from hatchway.translate.index import Index
from hatchway.translate.pem import check_ca_bundle

CTB_GROUP = "certificates.k8s.io"
CTB_KIND = "ClusterTrustBundle"

# What is wrong: the kind (its API is not there) or this reference.
KIND, REF = "kind", "ref"


def is_trust_bundle(group: str, kind: str) -> bool:
    return (group, kind) == (CTB_GROUP, CTB_KIND)


def trust_bundle(
    index: Index, name: str, available: bool
) -> tuple[str | None, tuple[str, str] | None]:
    """The bundle's PEM (ending in a newline, to be concatenated), or what is wrong."""
    what = f"caCertificateRef {CTB_KIND} {name}"
    if not available:
        return None, (KIND, f"{what}: the {CTB_GROUP} API is not served here")
    bundle = index.trust_bundles.get(name)
    if bundle is None:
        return None, (REF, f"{what}: not found")
    pem = bundle.spec.trust_bundle
    problem = "spec.trustBundle is empty" if not pem.strip() else check_ca_bundle(pem.encode())
    if problem is not None:
        return None, (REF, f"{what}: {problem}")
    return pem if pem.endswith("\n") else pem + "\n", None
