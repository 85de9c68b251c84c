"""Delta ADS without I/O: the protocol state machine of one Envoy stream (`session`), the
snapshots it serves (`snapshot`), what a data plane answers (`verdict`) and whom a snapshot is
for (`tenants`). The gRPC servicer that drives it is `runtime.xds_server`."""
