#!/usr/bin/env bash
# Stop what `HWCONF_KEEP=1 hack/conformance/run.sh` left running (by the PIDs it recorded).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
state="${HWCONF_STATE:-/tmp/hwconf}"
if [[ -f "$state/pids" ]]; then
  # The controller first; then the rig (down.sh below: the pod runner stops its Pods first).
  for pid in $(tac "$state/pids"); do
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -f "$state/pids"
fi
HATCHWAY_K8S_STATE="$state/k8s" "$root/hack/k8s/down.sh"
