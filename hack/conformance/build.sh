#!/usr/bin/env bash
# Builds the upstream Gateway API conformance suite (v1.6.1) and its echo server from the Go
# module proxy, unmodified, into a cache directory keyed by the wrapper module's contents.
# Prints the bin directory on stdout. Cheap when cached.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mod="$here/gomod"
cache="${HATCHWAY_CONFORMANCE_CACHE:-$HOME/.cache/hatchway-conformance}"
key="$(cat "$mod/go.mod" "$mod/go.sum" "$mod"/*.go | sha256sum | cut -c1-16)"
bin="$cache/bin-$key"
if [[ -x "$bin/conformance.test" && -x "$bin/echo-basic" ]]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$bin.tmp"
cd "$mod"
export GOFLAGS="-mod=readonly" GOTOOLCHAIN=local
# 2 shared cores: low priority, one package at a time.
nice -n 10 go build -p 1 -trimpath -o "$bin.tmp/echo-basic" sigs.k8s.io/gateway-api/conformance/echo-basic >&2
nice -n 10 go test -p 1 -trimpath -c -o "$bin.tmp/conformance.test" . >&2
rm -rf "$bin"
mv "$bin.tmp" "$bin"
echo "$bin"
