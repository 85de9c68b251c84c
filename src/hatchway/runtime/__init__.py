"""The runtime edge: xDS server, Envoy supervision, admin API and the `serve` loop."""

import os

# We fork only to exec Envoy; gRPC's fork handlers would just print a warning each time.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
