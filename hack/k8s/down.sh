#!/usr/bin/env bash
# Stop the rig started by up.sh, by the PIDs it recorded, and remove its state directory.
# HATCHWAY_K8S_KEEP=1 keeps the state (etcd data, certs, logs) for a restart.
set -uo pipefail
state="${HATCHWAY_K8S_STATE:-/tmp/hatchway-k8s}"
[[ -d "$state" ]] || exit 0
for name in kube-controller-manager kube-apiserver etcd; do
  pidfile="$state/$name.pid"
  [[ -f "$pidfile" ]] || continue
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$pidfile"
done
[[ "${HATCHWAY_K8S_KEEP:-0}" == 1 ]] || rm -rf "$state"
echo "down.sh: rig stopped" >&2
