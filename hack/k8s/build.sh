#!/usr/bin/env bash
# Build (once) etcd, kube-apiserver and, with HATCHWAY_K8S_WITH_KCM=1, kube-controller-manager,
# with HATCHWAY_K8S_WITH_PROXY=1 kube-proxy (HATCHWAY_K8S_FULL=1: all of them) from the Go module proxy at the versions pinned in hack/k8s/gomod/*/go.{mod,sum}, into a cache
# outside the work tree. The cache key is a hash of the wrapper modules: a pin change rebuilds,
# nothing else does. Prints the binary directory on stdout; progress goes to stderr.
#
#   hack/k8s/build.sh           # build what is missing (cold: ~15-20 min on 2 cores)
#   hack/k8s/build.sh --check   # build nothing: exit 4 naming what is missing
set -euo pipefail
check_only=0
[[ "${1:-}" == "--check" ]] && check_only=1
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${HATCHWAY_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hatchway-k8s}"
# The Kubernetes version the binaries report (`kubectl version`, Helm's kubeVersion checks), as
# the release build stamps it: the module version pinned in gomod/kube.
kube_version="$(sed -n 's|^[[:space:]]*k8s.io/kubernetes \(v[0-9.]*\).*|\1|p' "$here/gomod/kube/go.mod")"
minor="$(cut -d. -f2 <<< "$kube_version")"
version_pkg=k8s.io/component-base/version
stamp="-X $version_pkg.gitVersion=$kube_version -X $version_pkg.gitMajor=1 -X $version_pkg.gitMinor=$minor"
stamp+=" -X $version_pkg.gitTreeState=clean"
key="$( (cat "$here"/gomod/*/go.mod "$here"/gomod/*/go.sum "$here"/gomod/etcd/main.go; echo "$stamp") | sha256sum | cut -c1-16)"
bin="$cache/bin-$key"
mkdir -p "$bin"
wanted=(etcd kube-apiserver)
full="${HATCHWAY_K8S_FULL:-0}"
[[ "${HATCHWAY_K8S_WITH_KCM:-$full}" == 1 ]] && wanted+=(kube-controller-manager)
[[ "${HATCHWAY_K8S_WITH_PROXY:-$full}" == 1 ]] && wanted+=(kube-proxy)
if ((check_only)); then
  missing=()
  for name in "${wanted[@]}"; do [[ -x "$bin/$name" ]] || missing+=("$name"); done
  if ((${#missing[@]})); then
    echo "build.sh: not built yet: ${missing[*]} (run: make prepare)" >&2
    exit 4
  fi
  echo "$bin"
  exit 0
fi
# Low priority (the machine may be shared); HATCHWAY_BUILD_JOBS packages at a time.
export GOFLAGS="-mod=mod -buildvcs=false -trimpath"
for name in "${wanted[@]}"; do
  [[ -x "$bin/$name" ]] && continue
  command -v go >/dev/null || { echo "build.sh: the go command is needed to build $name" >&2; exit 3; }
  case "$name" in
    etcd) dir=etcd pkg=. ;;
    *) dir=kube pkg="k8s.io/kubernetes/cmd/$name" ;;
  esac
  start=$SECONDS
  echo "build.sh: building $name (downloading modules first if needed)" >&2
  (cd "$here/gomod/$dir" && go mod download) >&2
  total=$(cd "$here/gomod/$dir" && go list -deps "$pkg" | wc -l)
  (cd "$here/gomod/$dir" && nice -n 10 go build -v -p "${HATCHWAY_BUILD_JOBS:-2}" -ldflags="-s -w $stamp" \
      -o "$bin/$name.tmp" "$pkg" 2>&1) | "$here/../progress.sh" "build.sh: $name" "$total" >&2
  mv "$bin/$name.tmp" "$bin/$name"  # only a finished build lands under its real name
  echo "build.sh: built $name in $((SECONDS - start)) s" >&2
done
echo "$bin"
