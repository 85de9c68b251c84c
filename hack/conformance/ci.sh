#!/usr/bin/env bash
# The conformance suite as CI runs it (.ci/run, after the README's test command; the release
# GATEWAY_API_VERSION names, default v1.7.0, as for run.sh): the full
# run, then each failed test once more on its own. A test that passes alone is reported as
# FLAKY (its log is kept) and does not fail CI; one that fails twice does.
#
# Needs root: the pod runner gives each Pod its own network namespace. Without root this
# says so and exits 0, since nothing here could run.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
state="${HWCONF_STATE:-/tmp/hwconf}"
log() { printf '%s ci.sh: %s\n' "$(date +%T)" "$*" >&2; }

if [[ "$(id -u)" != 0 ]]; then
  log "NOT RUN: conformance needs root (network namespaces for the pod runner)"
  exit 0
fi

"$here/run.sh"
rc=$?
[[ $rc == 0 ]] && exit 0

summary="$(mktemp)"
cp "$state/summary.txt" "$summary" 2>/dev/null || true
mapfile -t failed < <(awk '$1 == "FAIL" { print $3 }' "$summary")
if [[ ${#failed[@]} == 0 ]]; then
  log "the suite exited $rc without a failed test (rig or build problem); logs: $state/logs"
  exit "$rc"
fi
log "${#failed[@]} failed in the full run: ${failed[*]}; running each once more alone"
rm -rf "$state.full-run-logs"
cp -r "$state/logs" "$state.full-run-logs"
still=()
for t in "${failed[@]}"; do
  if HWCONF_RUN_TEST="$t" "$here/run.sh"; then
    log "FLAKY: $t failed in the full run and passed alone (full-run logs: $state.full-run-logs)"
  else
    still+=("$t")
  fi
done
if [[ ${#still[@]} -gt 0 ]]; then
  log "FAILED twice: ${still[*]}"
  exit 1
fi
exit 0
