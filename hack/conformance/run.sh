#!/usr/bin/env bash
# `make conformance`: the upstream Gateway API conformance suite (v1.6.1, unmodified) against
# `hatchway controller` on the local rig. Brings everything up, runs, writes the report,
# tears everything down (also on failure or Ctrl-C).
#
#   hack/conformance/run.sh                       # the five GATEWAY-* profiles
#   HWCONF_RUN_TEST=HTTPRouteWeight hack/conformance/run.sh   # one test (no report)
#   HWCONF_KEEP=1 ...                            # leave the rig running afterwards (debugging)
#
# Needs root (network namespaces), Go (first build), openssl, curl. Runtime state lives in
# $HWCONF_STATE (default /tmp/hwconf); the report goes to conformance/reports/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
state="${HWCONF_STATE:-/tmp/hwconf}"
profiles="${HWCONF_PROFILES:-GATEWAY-HTTP,GATEWAY-GRPC,GATEWAY-TLS,GATEWAY-TCP,GATEWAY-UDP}"
report_dir="$root/conformance/reports/v1.6.1"
report="$report_dir/hatchway-report.yaml"
# The rig runs on its own ports and state dir, so a teammate's rig is never touched.
export HATCHWAY_K8S_STATE="$state/k8s"
export HATCHWAY_K8S_API_PORT="${HWCONF_API_PORT:-26443}"
export HATCHWAY_K8S_ETCD_PORT="${HWCONF_ETCD_PORT:-22379}"
# The data plane under test: "provisioned" (default: every Gateway gets its own Envoy
# Deployment and LoadBalancer Service; the suite reaches it through kube-proxy) or "embedded"
# (one Envoy in the controller, a loopback address per Gateway).
data_plane="${HWCONF_DATA_PLANE:-provisioned}"
if [[ "$data_plane" == provisioned ]]; then
  # The whole cluster: kube-controller-manager, kube-proxy, the load-balancer allocator, the
  # cluster DNS and the pod runner (which runs the proxies' `hatchway` image too).
  export HATCHWAY_K8S_FULL=1
else
  # kube-controller-manager: Deployments -> ReplicaSets -> Pods, Pods -> EndpointSlices, and
  # namespace/garbage collection so the suite's cleanup finishes.
  export HATCHWAY_K8S_WITH_KCM=1
  # The pod runner (a kubelet) with the node network: Pods in their own namespaces on the
  # node's bridge, reached from the host through its route into the node.
  export HATCHWAY_K8S_WITH_PODS=1
  export HATCHWAY_K8S_KCM_CONTROLLERS=deployment-controller,replicaset-controller,endpointslice-controller,endpointslice-mirroring-controller,namespace-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller
fi

started=$SECONDS
log() { printf '%s run.sh: %s\n' "$(date +%T)" "$*" >&2; }
pids=()
suite_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n "$suite_pid" ]] && kill -TERM "$suite_pid" 2>/dev/null
  if [[ "${HWCONF_KEEP:-0}" == 1 ]]; then
    printf '%s\n' "${pids[@]}" > "$state/pids"
    log "HWCONF_KEEP=1: leaving the rig up; stop it with hack/conformance/down.sh"; exit $rc
  fi
  # Reverse start order: the controller, then the rig (the pod runner stops its Pods first).
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${pids[i]}" 2>/dev/null || true
  done
  # The rig's logs (kube-apiserver, kube-controller-manager, podrunner) outlive its state dir.
  cp "$HATCHWAY_K8S_STATE"/logs/*.log "$state/logs/" 2>/dev/null || true
  "$root/hack/k8s/down.sh" || true
  log "done in $((SECONDS - started)) s (exit $rc)"
  exit $rc
}
trap cleanup EXIT INT TERM

# The previous run's logs are kept next to the state dir, for comparison.
if [[ -d "$state/logs" ]]; then rm -rf "$state.prev-logs"; mv "$state/logs" "$state.prev-logs"; fi
rm -rf "$state"; mkdir -p "$state/logs"
log "building (cached after the first run)"
bin="$("$here/build.sh")"
kubeconfig="$(HATCHWAY_K8S_ECHO_BINARY="$bin/echo-basic" "$root/hack/k8s/up.sh" | tail -1)"
pki="$HATCHWAY_K8S_STATE/pki"
xds_port="${HWCONF_XDS_PORT:-28400}"

if [[ "$data_plane" == provisioned ]]; then
  # shellcheck disable=SC1091
  source "$HATCHWAY_K8S_STATE/net.env"
  # The GatewayClass (with one proxy per Gateway: the suite needs no spares) and the
  # controller's Service, pointing at this host, where the controller runs.
  "$python" "$here/provisioned.py" --kubeconfig "$kubeconfig" --host-ip "$RIG_HOST_IP" \
    --xds-port "$xds_port"
  POD_NAMESPACE=hatchway-system setsid "$python" -m hatchway controller \
    --kubeconfig "$kubeconfig" --admin-address 127.0.0.1:19180 --data-plane provisioned \
    --xds-listen "0.0.0.0:$xds_port" --xds-service "hatchway.hatchway-system.svc:$xds_port" \
    --proxy-image hatchway:dev \
    > "$state/logs/controller.log" 2>&1 < /dev/null &
  pids+=($!)
  # GatewayStaticAddresses: an address of the load-balancer pool, and one outside it.
  usable="${RIG_LB_POOL%.*}.250" unusable=203.0.113.1
else
  # The GatewayClass the suite runs against (it reads the claimed features from its status).
  curl -fsS --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    -H 'Content-Type: application/json' -X POST \
    "https://127.0.0.1:$HATCHWAY_K8S_API_PORT/apis/gateway.networking.k8s.io/v1/gatewayclasses" \
    -d '{"apiVersion":"gateway.networking.k8s.io/v1","kind":"GatewayClass","metadata":{"name":"hatchway"},"spec":{"controllerName":"hatchway.dev/gateway-controller","description":"Hatchway conformance run"}}' \
    > /dev/null
  # The suite reaches each Gateway at its first status address and many Gateways share ports
  # (80, 443): each gets a loopback address of its own from the pool.
  setsid "$python" -m hatchway controller --kubeconfig "$kubeconfig" \
    --admin-address 127.0.0.1:19180 --bind-address 127.0.0.1 --data-plane embedded \
    --gateway-address-pool 127.10.0.0/16 \
    > "$state/logs/controller.log" 2>&1 < /dev/null &
  pids+=($!)
  # GatewayStaticAddresses: a loopback address outside the controller's pool that Envoy can
  # bind, and a documentation address (TEST-NET-3) that no interface here holds.
  usable=127.11.0.1 unusable=203.0.113.1
fi

# The suite reads the claimed features once, at start: wait until the controller wrote them.
for _ in $(seq 600); do
  curl -fsS --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$HATCHWAY_K8S_API_PORT/apis/gateway.networking.k8s.io/v1/gatewayclasses/hatchway" \
    2>/dev/null | "$python" -c 'import json,sys; sys.exit(0 if json.load(sys.stdin).get("status",{}).get("supportedFeatures") else 1)' \
    && break
  sleep 0.2
done
log "rig, pod runner and controller up after $((SECONDS - started)) s; running the suite"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/pyproject.toml")"
args=(
  -test.v -test.timeout 4h -test.count 1
  --gateway-class hatchway
  --organization hatchway --project hatchway --url https://example.invalid/hatchway
  --version "v$version" --contact "hatchway maintainers"
  --usable-address "$usable" --unusable-address "$unusable"
)
if [[ -n "${HWCONF_RUN_TEST:-}" ]]; then
  args+=(--run-test "$HWCONF_RUN_TEST")
else
  mkdir -p "$report_dir"
  args+=(--conformance-profiles "$profiles" --report-output "$report.tmp")
fi
suite_started=$SECONDS
set +e
# In the background so that a signal reaches the trap while the suite runs.
(cd "$state" && KUBECONFIG="$kubeconfig" exec nice -n 5 "$bin/conformance.test" "${args[@]}" \
  ${HWCONF_SUITE_ARGS:-}) > "$state/logs/suite.log" 2>&1 &
suite_pid=$!
wait "$suite_pid"
rc=$?
suite_pid=""
set -e
log "suite finished in $((SECONDS - suite_started)) s (exit $rc); log: $state/logs/suite.log"
if [[ -f "$report.tmp" ]]; then
  mv "$report.tmp" "$report"; chmod 644 "$report"
  log "report: $report"
fi
"$python" "$here/summarize.py" "$state/logs/suite.log" > "$state/summary.txt" || true
cat "$state/summary.txt" >&2 || true
exit $rc
