#!/usr/bin/env bash
# Start a local Kubernetes control plane on loopback: etcd + kube-apiserver (+ optionally
# kube-controller-manager), with generated certificates, service-account keys, an admin
# kubeconfig and the Gateway API CRDs; optionally a node with real Service networking.
# Idempotent: a running rig is left as it is.
#
#   hack/k8s/up.sh            # prints the kubeconfig path on the last line
#   HATCHWAY_K8S_WITH_KCM=1 hack/k8s/up.sh   # also run kube-controller-manager
#   HATCHWAY_K8S_KCM_CONTROLLERS=a-controller,b-controller   # which of its controllers run
#   HATCHWAY_K8S_FULL=1 hack/k8s/up.sh       # everything below: a cluster Pods run on
#   HATCHWAY_K8S_WITH_PODS=1    # the node network (nodenet.sh) + the pod runner (a kubelet)
#                               # + the cluster DNS (rig/dns.py)
#   HATCHWAY_K8S_WITH_PROXY=1   # the node network + kube-proxy (nftables mode, in the node)
#   HATCHWAY_K8S_WITH_LB=1      # the load-balancer allocator (rig/lb.py)
#
# State (certs, data, logs, PIDs) lives in $HATCHWAY_K8S_STATE (default /tmp/hatchway-k8s);
# hack/k8s/down.sh stops the processes by PID and removes it. See README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
state="${HATCHWAY_K8S_STATE:-/tmp/hatchway-k8s}"
api_port="${HATCHWAY_K8S_API_PORT:-16443}"
etcd_port="${HATCHWAY_K8S_ETCD_PORT:-12379}"
etcd_peer_port=$((etcd_port + 1))
# The Gateway API CRDs (experimental channel: standard + experimental kinds) at the pinned
# version, fetched from the Go module proxy into a cache (hack/upstream/fetch.py).
gateway_api="${HATCHWAY_GATEWAY_API_VERSION:-v1.6.1}"
crds="${HATCHWAY_K8S_CRDS:-$(python3 "$root/hack/upstream/fetch.py" crds "$gateway_api")/experimental}"
python="${PYTHON:-$root/.venv/bin/python}"
kubeconfig="$state/admin.kubeconfig"
full="${HATCHWAY_K8S_FULL:-0}"
with_kcm="${HATCHWAY_K8S_WITH_KCM:-$full}"
with_pods="${HATCHWAY_K8S_WITH_PODS:-$full}"
with_proxy="${HATCHWAY_K8S_WITH_PROXY:-$full}"
with_lb="${HATCHWAY_K8S_WITH_LB:-$full}"
node_name="${HATCHWAY_K8S_NODE:-hatchway-rig-node}"
node_net=0
[[ "$with_pods" == 1 || "$with_proxy" == 1 ]] && node_net=1
export HATCHWAY_K8S_WITH_KCM="$with_kcm" HATCHWAY_K8S_WITH_PROXY="$with_proxy"  # for build.sh

alive() { [[ -f "$state/$1.pid" ]] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

if alive etcd && alive kube-apiserver && [[ -f "$kubeconfig" ]]; then
  echo "up.sh: already running" >&2
  echo "$kubeconfig"
  exit 0
fi

started=$SECONDS
bin="$("$here/build.sh")"
mkdir -p "$state/pki" "$state/logs"
pki="$state/pki"
if ((node_net)); then
  if [[ "$with_proxy" == 1 ]] && ! command -v nft > /dev/null; then
    echo "up.sh: kube-proxy needs the nft command (Debian package nftables)" >&2; exit 3
  fi
  # shellcheck disable=SC1091
  if ! { [[ -f "$state/net.env" ]] && source "$state/net.env" && ip netns pids "$RIG_NODE_NETNS" > /dev/null 2>&1; }; then
    "$here/nodenet.sh" up "$state"
  fi
  # shellcheck disable=SC1091
  source "$state/net.env"
  service_cidr=$RIG_SERVICE_CIDR
  extra_sans=",IP:$RIG_HOST_IP,IP:$RIG_KUBERNETES_SERVICE_IP"
else
  # Only bookkeeping for ClusterIPs then: nothing routes to it.
  service_cidr=10.96.0.0/16
  extra_sans=""
fi

# --- certificates (once per state dir) ---------------------------------------------------
if [[ ! -f "$pki/admin.crt" ]]; then
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=hatchway-rig-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    cat > server.ext <<EXT
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc$extra_sans
extendedKeyUsage=serverAuth
EXT
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
      -keyout apiserver.key -out apiserver.csr 2>/dev/null
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out apiserver.crt 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' > client.ext
    # O=system:masters: the admin identity, bound to cluster-admin by the API server itself.
    openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=hatchway-admin" \
      -keyout admin.key -out admin.csr 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile client.ext -out admin.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
fi

b64() { base64 -w0 < "$1"; }
write_kubeconfig() {  # write_kubeconfig FILE SERVER: the admin identity, for that API address
  cat > "$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: hatchway-rig
  cluster:
    server: $2
    certificate-authority-data: $(b64 "$pki/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(b64 "$pki/admin.crt")
    client-key-data: $(b64 "$pki/admin.key")
contexts:
- name: hatchway-rig
  context: {cluster: hatchway-rig, user: admin, namespace: default}
current-context: hatchway-rig
KC
}
write_kubeconfig "$kubeconfig" "https://127.0.0.1:$api_port"

start() {  # start <name> <command...>: detached, output to logs/<name>.log, PID to <name>.pid
  local name=$1; shift
  alive "$name" && return 0
  setsid "$@" > "$state/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$state/$name.pid"
}

start etcd "$bin/etcd" --name hatchway-rig --data-dir "$state/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "hatchway-rig=http://127.0.0.1:$etcd_peer_port" \
  --listen-metrics-urls "" --quota-backend-bytes $((2 * 1024 * 1024 * 1024)) --log-level warn

for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$etcd_port/health" > /dev/null 2>&1 && break
  alive etcd || { echo "up.sh: etcd exited; see $state/logs/etcd.log" >&2; tail -20 "$state/logs/etcd.log" >&2; exit 1; }
  sleep 0.1
done

start kube-apiserver "$bin/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-account-issuer https://kubernetes.default.svc \
  --service-cluster-ip-range "$service_cidr" \
  --authorization-mode RBAC \
  --enable-priority-and-fairness=false \
  --endpoint-reconciler-type none \
  --kubelet-preferred-address-types InternalIP \
  --v 1

curl_api() { curl -fsS --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "https://127.0.0.1:$api_port$1"; }
for _ in $(seq 600); do
  curl_api /readyz > /dev/null 2>&1 && break
  alive kube-apiserver || { echo "up.sh: kube-apiserver exited; see $state/logs/kube-apiserver.log" >&2; tail -30 "$state/logs/kube-apiserver.log" >&2; exit 1; }
  sleep 0.1
done
curl_api /readyz > /dev/null || { echo "up.sh: kube-apiserver not ready after 60 s" >&2; exit 1; }

if [[ "$with_kcm" == 1 ]]; then
  # By default only the controllers that need no kubelet: EndpointSlices, namespaces, garbage
  # collection, service accounts; with the pod runner also Deployments, ReplicaSets, tokens,
  # the kube-root-ca.crt ConfigMaps and PodDisruptionBudgets. Since 1.37 `--controllers` takes
  # the names with their `-controller` suffix (`kube-controller-manager --help` lists them).
  kcm_default=endpointslice-controller,endpointslice-mirroring-controller,namespace-controller,garbage-collector-controller,serviceaccount-controller
  [[ "$with_pods" == 1 ]] && kcm_default+=,deployment-controller,replicaset-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller,disruption-controller
  start kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig "$kubeconfig" --bind-address 127.0.0.1 --secure-port 0 \
    --controllers "${HATCHWAY_K8S_KCM_CONTROLLERS:-$kcm_default}" \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --leader-elect=false --v 1
fi

if ((node_net)); then
  # The node reaches the API server as Pods do: at the host's end of the node link, relayed to
  # loopback; the relay also makes that address the `kubernetes` Service's endpoint.
  write_kubeconfig "$state/node.kubeconfig" "https://$RIG_HOST_IP:$api_port"
  PYTHONPATH="$here" start apirelay "$python" -m rig.apirelay --kubeconfig "$kubeconfig" \
    --listen "$RIG_HOST_IP:$api_port" --to "127.0.0.1:$api_port"
fi
if [[ "$with_pods" == 1 ]]; then
  echo_bin="${HATCHWAY_K8S_ECHO_BINARY:-$("$root/hack/conformance/build.sh" --check 2>/dev/null || true)/echo-basic}"
  # The cluster DNS Pods' resolv.conf names: Service names only, nothing forwarded.
  PYTHONPATH="$here" start dns "$python" -m rig.dns --kubeconfig "$kubeconfig" --listen "$RIG_HOST_IP:53"
  PYTHONPATH="$root/hack/conformance" start podrunner "$python" -m podrunner \
    --kubeconfig "$kubeconfig" --state "$state/pods" --node "$node_name" \
    --node-netns "$RIG_NODE_NETNS" --netns-prefix "$RIG_POD_NETNS_PREFIX" \
    --subnet "$RIG_POD_CIDR" --node-ip "$RIG_HOST_IP" --dns "$RIG_HOST_IP" --echo-binary "$echo_bin"
fi
if [[ "$with_proxy" == 1 ]]; then
  # nftables mode (needs only the nft command), in the node's namespace: its rules and
  # sysctls stay there. conntrack limits 0: leave the kernel's (global) settings alone.
  cat > "$state/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clientConnection:
  kubeconfig: $state/node.kubeconfig
hostnameOverride: $node_name
bindAddress: $RIG_NODE_IP
clusterCIDR: $RIG_POD_CIDR
nodePortAddresses: ["$RIG_NODE_IP/32"]
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
YAML
  start kube-proxy ip netns exec "$RIG_NODE_NETNS" "$bin/kube-proxy" --config "$state/kube-proxy.yaml" --v 1
fi
if [[ "$with_lb" == 1 ]]; then
  pool="${HATCHWAY_K8S_LB_POOL:-${RIG_LB_POOL:-198.19.255.0/24}}"
  PYTHONPATH="$here" start lb "$python" -m rig.lb --kubeconfig "$kubeconfig" --pool "$pool"
fi

# The Gateway API CRDs, and Hatchway's own (GatewayParameters) from the Helm chart.
"$python" "$here/install_crds.py" --kubeconfig "$kubeconfig" "$crds" "$root/deploy/helm/hatchway/crds" >&2
wait_for() {  # wait_for NAME SECONDS COMMAND...: until COMMAND succeeds, NAME must stay alive
  local name=$1 limit=$2; shift 2
  for _ in $(seq $((limit * 10))); do
    "$@" > /dev/null 2>&1 && return 0
    alive "$name" || { echo "up.sh: $name exited; see $state/logs/$name.log" >&2; tail -20 "$state/logs/$name.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "up.sh: $name not ready after $limit s; see $state/logs/$name.log" >&2; exit 1
}
[[ "$with_pods" == 1 ]] && wait_for podrunner 60 curl_api "/api/v1/nodes/$node_name"
# kube-proxy answers /healthz once it has programmed its rules.
[[ "$with_proxy" == 1 ]] && wait_for kube-proxy 60 ip netns exec "$RIG_NODE_NETNS" curl -fsS http://127.0.0.1:10256/healthz
echo "up.sh: rig up in $((SECONDS - started)) s (API https://127.0.0.1:$api_port)" >&2
echo "$kubeconfig"
