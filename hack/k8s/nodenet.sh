#!/usr/bin/env bash
# The rig's node network: one network namespace per rig ("the node") holding the Pod bridge
# (cbr0) and kube-proxy's nftables rules, joined to the host by a veth pair. The host routes the
# rig's Pod, Service and load-balancer ranges into it, so a client on the host reaches Pod IPs,
# ClusterIPs and LoadBalancer addresses through kube-proxy, and nothing the rig does touches the
# host's own firewall, sysctls or other rigs: deleting the namespace removes it all.
#
#   nodenet.sh up STATE     # picks the first free index 0-15 (HATCHWAY_K8S_NET_INDEX forces one)
#   nodenet.sh down STATE   # kills what still runs in the rig's Pod namespaces, deletes them all
#
# Addresses: index i owns 198.19.16i.0/20 (198.18.0.0/15 is reserved for network tests; the
# tests' own echo hosts use 198.18.0.0/16): Pods .0/22 (bridge .1), Services +4.0/22,
# load balancers +8.0/24, and the host<->node link +15.252/30 (host .253, node .254).
# `up` writes the plan to STATE/net.env for up.sh, down.sh and the tests.
set -euo pipefail
cmd=$1 state=$2

kill_all_in() {  # kill_all_in NETNS: SIGKILL what runs there and wait (5 s at most) until it is gone
  local pids
  for _ in $(seq 50); do
    pids="$(ip netns pids "$1" 2>/dev/null || true)"
    [[ -z "$pids" ]] && return 0
    kill -KILL $pids 2>/dev/null
    sleep 0.1
  done
}

down() {
  [[ -f "$state/net.env" ]] || return 0
  # shellcheck disable=SC1091
  source "$state/net.env"
  for ns in $(ip netns list | awk '{print $1}' | grep "^${RIG_POD_NETNS_PREFIX}" || true); do
    kill_all_in "$ns"
    ip netns del "$ns" 2>/dev/null || true
  done
  kill_all_in "$RIG_NODE_NETNS"
  # The veth pair, the bridge and the host's routes through them go with the namespace, once
  # nothing holds it any more.
  ip netns del "$RIG_NODE_NETNS" 2>/dev/null || true
  for _ in $(seq 100); do
    ip link show "$RIG_HOST_LINK" > /dev/null 2>&1 || break
    sleep 0.1
  done
  # A kept state dir (HATCHWAY_K8S_KEEP=1) keeps its addresses: its certificates name them.
  [[ "${HATCHWAY_K8S_KEEP:-0}" == 1 ]] || rm -f "$state/net.env"
}

up() {
  local index="" i candidates
  mkdir -p "$state"
  candidates="${HATCHWAY_K8S_NET_INDEX:-$(seq 0 15)}"
  if [[ -f "$state/net.env" ]]; then
    candidates="$(sed -n 's/^RIG_NET_INDEX=//p' "$state/net.env")"
  fi
  # `ip netns add` fails when the name exists: the first free index is ours, even if two rigs
  # start at once.
  for i in $candidates; do
    if ip netns add "hwk$i-node" 2>/dev/null; then index=$i; break; fi
  done
  [[ -n "$index" ]] || { echo "nodenet.sh: no free node network (hwk0-node..hwk15-node exist; stale? hack/k8s/down.sh)" >&2; exit 1; }
  local b=$((16 * index))
  cat > "$state/net.env" <<ENV
RIG_NET_INDEX=$index
RIG_NODE_NETNS=hwk$index-node
RIG_POD_NETNS_PREFIX=hwk$index-p
RIG_HOST_LINK=hwk${index}h
RIG_POD_CIDR=198.19.$b.0/22
RIG_POD_GATEWAY=198.19.$b.1
RIG_SERVICE_CIDR=198.19.$((b + 4)).0/22
RIG_KUBERNETES_SERVICE_IP=198.19.$((b + 4)).1
RIG_LB_POOL=198.19.$((b + 8)).0/24
RIG_HOST_IP=198.19.$((b + 15)).253
RIG_NODE_IP=198.19.$((b + 15)).254
ENV
  # shellcheck disable=SC1091
  source "$state/net.env"
  local ns=$RIG_NODE_NETNS
  ip link add "$RIG_HOST_LINK" type veth peer name eth0 netns "$ns"
  ip addr add "$RIG_HOST_IP/30" dev "$RIG_HOST_LINK"
  ip link set "$RIG_HOST_LINK" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$RIG_NODE_IP/30" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link add cbr0 type bridge
  ip -n "$ns" addr add "$RIG_POD_GATEWAY/22" dev cbr0
  ip -n "$ns" link set cbr0 up
  ip -n "$ns" route add default via "$RIG_HOST_IP"
  # The node forwards between the host and its Pods; bridged Pod-to-Pod traffic passes the
  # netfilter hooks, so a reply from a Service's endpoint on the same bridge is un-NATed.
  # Both are sysctls of the node's namespace only.
  ip netns exec "$ns" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables'
  for cidr in "$RIG_POD_CIDR" "$RIG_SERVICE_CIDR" "$RIG_LB_POOL"; do
    ip route add "$cidr" via "$RIG_NODE_IP" dev "$RIG_HOST_LINK"
  done
}

case "$cmd" in
  up) up ;;
  down) down ;;
  *) echo "usage: nodenet.sh up|down STATE" >&2; exit 2 ;;
esac
