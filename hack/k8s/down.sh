#!/usr/bin/env bash
# Stop the rig started by up.sh, by the PIDs it recorded, remove its node network (the Pod
# namespaces and anything still running in them, the node namespace with kube-proxy's rules,
# the bridge, the veth pair and the host's routes through it) and its state directory.
# HATCHWAY_K8S_KEEP=1 keeps the state (etcd data, certs, logs) for a restart.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
state="${HATCHWAY_K8S_STATE:-/tmp/hatchway-k8s}"
[[ -d "$state" ]] || exit 0
# The pod runner first: it stops its Pods (preStop, SIGTERM) and deletes their namespaces.
for name in podrunner dns lb kube-proxy apirelay kube-controller-manager kube-apiserver etcd; do
  pidfile="$state/$name.pid"
  [[ -f "$pidfile" ]] || continue
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$pidfile"
done
"$here/nodenet.sh" down "$state"
[[ "${HATCHWAY_K8S_KEEP:-0}" == 1 ]] || rm -rf "$state"
echo "down.sh: rig stopped" >&2
