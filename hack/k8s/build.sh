#!/usr/bin/env bash
# Build (once) etcd, kube-apiserver and, with HATCHWAY_K8S_WITH_KCM=1, kube-controller-manager
# from the Go module proxy at the versions pinned in hack/k8s/gomod/*/go.{mod,sum}, into a cache
# outside the work tree. The cache key is a hash of the wrapper modules: a pin change rebuilds,
# nothing else does. Prints the binary directory on stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${HATCHWAY_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hatchway-k8s}"
key="$(cat "$here"/gomod/*/go.mod "$here"/gomod/*/go.sum "$here"/gomod/etcd/main.go | sha256sum | cut -c1-16)"
bin="$cache/bin-$key"
mkdir -p "$bin"
wanted=(etcd kube-apiserver)
[[ "${HATCHWAY_K8S_WITH_KCM:-0}" == 1 ]] && wanted+=(kube-controller-manager)
# The machine is small and shared: low priority, one package at a time.
export GOFLAGS="-mod=mod -buildvcs=false -trimpath"
for name in "${wanted[@]}"; do
  [[ -x "$bin/$name" ]] && continue
  command -v go >/dev/null || { echo "build.sh: the go command is needed to build $name" >&2; exit 3; }
  case "$name" in
    etcd) dir=etcd pkg=. ;;
    *) dir=kube pkg="k8s.io/kubernetes/cmd/$name" ;;
  esac
  start=$SECONDS
  (cd "$here/gomod/$dir" && nice -n 10 go build -p 1 -ldflags='-s -w' -o "$bin/$name.tmp" "$pkg") >&2
  mv "$bin/$name.tmp" "$bin/$name"  # only a finished build lands under its real name
  echo "build.sh: built $name in $((SECONDS - start)) s" >&2
done
echo "$bin"
