#!/usr/bin/env bash
# Build (once) helm from the Go module proxy at the version pinned in hack/helm/gomod (go.mod +
# go.sum), into a cache outside the work tree keyed by a hash of that module: a pin change
# rebuilds, nothing else does. Prints the binary's path on stdout; progress goes to stderr.
#
#   hack/helm/build.sh           # build if missing (cold: see hack/k8s/README.md, "Cost")
#   hack/helm/build.sh --check   # build nothing: exit 4 if it is not built yet
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mod="$here/gomod"
cache="${HATCHWAY_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hatchway-helm}"
key="$(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -c1-16)"
bin="$cache/bin-$key/helm"
if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  echo "helm/build.sh: helm is not built yet (run: make prepare)" >&2
  exit 4
fi
command -v go >/dev/null || { echo "helm/build.sh: the go command is needed to build helm" >&2; exit 3; }
mkdir -p "$(dirname "$bin")"
cd "$mod"
export GOFLAGS="-mod=readonly -buildvcs=false -trimpath" GOTOOLCHAIN=local
version="$(go list -m -f '{{.Version}}' helm.sh/helm/v4)"
pkg=helm.sh/helm/v4/cmd/helm
start=$SECONDS
echo "helm/build.sh: building helm $version (downloading modules first if needed)" >&2
go mod download >&2
# The version helm reports is set at link time, as helm's own release build does.
nice -n 10 go build -v -p "${HATCHWAY_BUILD_JOBS:-2}" \
    -ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$version" \
    -o "$bin.tmp" "$pkg" 2>&1 \
  | "$here/../progress.sh" "helm/build.sh: helm" "$(go list -deps "$pkg" | wc -l)" >&2
mv "$bin.tmp" "$bin"  # only a finished build lands under its real name
echo "helm/build.sh: built helm in $((SECONDS - start)) s" >&2
echo "$bin"
