#!/usr/bin/env bash
# Start a local Kubernetes control plane on loopback: etcd + kube-apiserver (+ optionally
# kube-controller-manager), with generated certificates, service-account keys, an admin
# kubeconfig and the Gateway API CRDs. Idempotent: a running rig is left as it is.
#
#   hack/k8s/up.sh            # prints the kubeconfig path on the last line
#   HATCHWAY_K8S_WITH_KCM=1 hack/k8s/up.sh   # also run kube-controller-manager
#   HATCHWAY_K8S_KCM_CONTROLLERS=a-controller,b-controller   # which of its controllers run
#
# State (certs, data, logs, PIDs) lives in $HATCHWAY_K8S_STATE (default /tmp/hatchway-k8s);
# hack/k8s/down.sh stops the processes by PID and removes it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
state="${HATCHWAY_K8S_STATE:-/tmp/hatchway-k8s}"
api_port="${HATCHWAY_K8S_API_PORT:-16443}"
etcd_port="${HATCHWAY_K8S_ETCD_PORT:-12379}"
etcd_peer_port=$((etcd_port + 1))
# The Gateway API CRDs (experimental channel: standard + experimental kinds) at the pinned
# version, fetched from the Go module proxy into a cache (hack/upstream/fetch.py).
gateway_api="${HATCHWAY_GATEWAY_API_VERSION:-v1.7.0}"
crds="${HATCHWAY_K8S_CRDS:-$(python3 "$root/hack/upstream/fetch.py" crds "$gateway_api")/experimental}"
python="${PYTHON:-$root/.venv/bin/python}"
kubeconfig="$state/admin.kubeconfig"

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

# --- certificates (once per state dir) ---------------------------------------------------
if [[ ! -f "$pki/admin.crt" ]]; then
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=hatchway-rig-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    cat > server.ext <<EXT
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
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
cat > "$kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: hatchway-rig
  cluster:
    server: https://127.0.0.1:$api_port
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

# The service CIDR is only bookkeeping for ClusterIPs; nothing routes to it on this machine.
# ClusterTrustBundles (Gateway API caCertificateRefs, GEP-5075): GA and on by default since
# Kubernetes 1.37 (certificates.k8s.io/v1); stated here so the rig keeps serving them.
start kube-apiserver "$bin/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-account-issuer https://kubernetes.default.svc \
  --service-cluster-ip-range 10.96.0.0/16 \
  --authorization-mode RBAC \
  --runtime-config certificates.k8s.io/v1/clustertrustbundles=true \
  --feature-gates ClusterTrustBundle=true \
  --enable-priority-and-fairness=false \
  --endpoint-reconciler-type none \
  --v 1

curl_api() { curl -fsS --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "https://127.0.0.1:$api_port$1"; }
for _ in $(seq 600); do
  curl_api /readyz > /dev/null 2>&1 && break
  alive kube-apiserver || { echo "up.sh: kube-apiserver exited; see $state/logs/kube-apiserver.log" >&2; tail -30 "$state/logs/kube-apiserver.log" >&2; exit 1; }
  sleep 0.1
done
curl_api /readyz > /dev/null || { echo "up.sh: kube-apiserver not ready after 60 s" >&2; exit 1; }

if [[ "${HATCHWAY_K8S_WITH_KCM:-0}" == 1 ]]; then
  # By default only the controllers that need no kubelet: EndpointSlices, namespaces, garbage
  # collection, service accounts. Since 1.37 `--controllers` takes the names with their
  # `-controller` suffix (`kube-controller-manager --help` lists them); the short names fail.
  kcm_controllers="${HATCHWAY_K8S_KCM_CONTROLLERS:-endpointslice-controller,endpointslice-mirroring-controller,namespace-controller,garbage-collector-controller,serviceaccount-controller}"
  start kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig "$kubeconfig" --bind-address 127.0.0.1 --secure-port 0 \
    --controllers "$kcm_controllers" \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --leader-elect=false --v 1
fi

"$python" "$here/install_crds.py" --kubeconfig "$kubeconfig" "$crds" >&2
echo "up.sh: rig up in $((SECONDS - started)) s (API https://127.0.0.1:$api_port)" >&2
echo "$kubeconfig"
