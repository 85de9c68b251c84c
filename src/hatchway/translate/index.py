"""Lookups over a Snapshot, built once up front so translation stays near-linear."""

from __future__ import annotations

from collections import defaultdict

from hatchway.model.core import (
    NAMESPACE_NAME_LABEL,
    ClusterTrustBundle,
    ConfigMap,
    EndpointSlice,
    Pod,
    Secret,
    Service,
)
from hatchway.model.snapshot import Snapshot
from hatchway.model.xbackend import XBackend
from hatchway.translate.grants import Grants

NsName = tuple[str, str]


class Index:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.namespace_labels: dict[str, dict[str, str]] = {
            "default": {NAMESPACE_NAME_LABEL: "default"}
        }
        for ns in snapshot.namespaces:
            labels = dict(ns.metadata.labels)
            labels.setdefault(NAMESPACE_NAME_LABEL, ns.metadata.name)
            self.namespace_labels[ns.metadata.name] = labels
        self.services: dict[NsName, Service] = {
            (s.metadata.namespace, s.metadata.name): s for s in snapshot.services
        }
        self.secrets: dict[NsName, Secret] = {
            (s.metadata.namespace, s.metadata.name): s for s in snapshot.secrets
        }
        self.config_maps: dict[NsName, ConfigMap] = {
            (c.metadata.namespace, c.metadata.name): c for c in snapshot.config_maps
        }
        self.slices: dict[NsName, list[EndpointSlice]] = defaultdict(list)
        for sl in snapshot.endpoint_slices:
            svc = sl.service_name
            if svc:
                self.slices[(sl.metadata.namespace, svc)].append(sl)
        self.grants = Grants(snapshot.reference_grants)
        self.xbackends: dict[NsName, XBackend] = {
            (x.metadata.namespace, x.metadata.name): x for x in snapshot.xbackends
        }
        self.pods: dict[str, list[Pod]] = defaultdict(list)  # by namespace
        for pod in snapshot.pods:
            self.pods[pod.metadata.namespace].append(pod)
        self.trust_bundles: dict[str, ClusterTrustBundle] = {
            b.metadata.name: b for b in snapshot.cluster_trust_bundles
        }

    def labels_of(self, namespace: str) -> dict[str, str]:
        """Labels of a namespace; one without a Namespace object still has its name label."""
        return self.namespace_labels.get(namespace, {NAMESPACE_NAME_LABEL: namespace})
