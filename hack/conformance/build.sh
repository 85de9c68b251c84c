#!/usr/bin/env bash
# Builds the upstream Gateway API conformance suite and its echo server from the Go module
# proxy, unmodified, into a cache directory keyed by the wrapper module's contents. The suite's
# release: $HATCHWAY_GATEWAY_API_VERSION (what `make` exports from GATEWAY_API_VERSION),
# default v1.7.0; each release has its wrapper module, gomod-<version>.
# Prints the bin directory on stdout. Cheap when cached. `--check`: build nothing, exit 4 if
# it is not built yet.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="${HATCHWAY_GATEWAY_API_VERSION:-${GATEWAY_API_VERSION:-v1.7.0}}"
mod="$here/gomod-$version"
if [[ ! -f "$mod/go.mod" ]]; then
  echo "conformance/build.sh: no wrapper module for the suite at $version ($mod)" >&2
  exit 2
fi
case "$version" in
  # v1.7.0 needs Go 1.27; the module proxy serves that toolchain (`go` downloads it once).
  v1.7.0) toolchain=go1.27.3 echo_pkg=sigs.k8s.io/gateway-api-conformance-images/echo-basic ;;
  *) toolchain=local echo_pkg=sigs.k8s.io/gateway-api/conformance/echo-basic ;;
esac
cache="${HATCHWAY_CONFORMANCE_CACHE:-$HOME/.cache/hatchway-conformance}"
key="$(cat "$mod/go.mod" "$mod/go.sum" "$mod"/*.go | sha256sum | cut -c1-16)"
bin="$cache/bin-$key"
if [[ -x "$bin/conformance.test" && -x "$bin/echo-basic" ]]; then
  echo "$bin"
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  echo "conformance/build.sh: the suite $version and echo-basic are not built yet (run: make prepare)" >&2
  exit 4
fi
mkdir -p "$bin.tmp"
cd "$mod"
export GOFLAGS="-mod=readonly" GOTOOLCHAIN="$toolchain"
jobs="${HATCHWAY_BUILD_JOBS:-2}"
echo "build.sh: building the conformance suite $version and its echo server ($(go version))" >&2
go mod download >&2
nice -n 10 go build -v -p "$jobs" -trimpath -o "$bin.tmp/echo-basic" "$echo_pkg" 2>&1 \
  | "$here/../progress.sh" "build.sh: echo-basic" "$(go list -deps "$echo_pkg" | wc -l)" >&2
# `go test -c` has no package-progress flag (its -v is the tests'): build the suite's
# dependencies with `go build -v` first (same flags, so the test build reuses them).
deps=$(go list -deps -test -f '{{if not .Standard}}{{.ImportPath}}{{end}}' . | grep -v -e ' ' -e '^hatchway\.local')
# shellcheck disable=SC2086
nice -n 10 go build -v -p "$jobs" -trimpath $deps 2>&1 \
  | "$here/../progress.sh" "build.sh: conformance.test" "$(wc -w <<< "$deps")" >&2
nice -n 10 go test -p "$jobs" -trimpath -c -o "$bin.tmp/conformance.test" . >&2
rm -rf "$bin"
mv "$bin.tmp" "$bin"
echo "$bin"
