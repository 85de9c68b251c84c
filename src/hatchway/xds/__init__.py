"""The Envoy step: IR -> xDS resources (Listener, RouteConfiguration, Cluster,
ClusterLoadAssignment, Secret). Pure: no I/O; its only input is `hatchway.ir`.

Mapping choices are documented where they are made: `names` (stable naming), `hardening`
(edge-proxy safety defaults), `http_filters` (HTTP filter order), `http_actions` (weights,
the invalid-backend 500 share, timeouts, retries), `rewrites` (element-wise prefix rewrites).
"""

from hatchway.xds.build import build
from hatchway.xds.dicts import message_to_dict, to_dicts
from hatchway.xds.hardening import DEFAULT_HARDENING, Hardening
from hatchway.xds.names import INVALID_BACKEND_CLUSTER
from hatchway.xds.resources import (
    CLUSTER,
    ENDPOINT,
    LISTENER,
    ROUTE,
    SECRET,
    SHORT_NAMES,
    TYPE_URLS,
    BuildCache,
    XdsResources,
    version_of,
)
from hatchway.xds.settings import XdsSettings
from hatchway.xds.validate import Problem, validate

__all__ = [
    "CLUSTER",
    "DEFAULT_HARDENING",
    "ENDPOINT",
    "INVALID_BACKEND_CLUSTER",
    "LISTENER",
    "ROUTE",
    "SECRET",
    "SHORT_NAMES",
    "TYPE_URLS",
    "BuildCache",
    "Hardening",
    "Problem",
    "XdsResources",
    "XdsSettings",
    "build",
    "message_to_dict",
    "to_dicts",
    "validate",
    "version_of",
]
