#!/usr/bin/env bash
# Turn `go build -v` output into a progress line every 10 s: `LABEL: N/TOTAL packages, T s`.
# Lines that are not package paths (compiler errors, `# pkg` headers) pass through as they are.
#   go build -v ... 2>&1 | hack/progress.sh "label" TOTAL
set -uo pipefail
label=$1 total=${2:-?}
exec awk -v label="$label" -v total="$total" '
  BEGIN { start = systime(); last = start }
  / / || /^#/ { print; fflush(); next }
  { n++; now = systime()
    if (now - last >= 10) { printf "%s: %d/%s packages compiled, %d s\n", label, n, total, now - start; fflush(); last = now } }
  END { printf "%s: %d packages compiled (%s in the build graph; the rest were cached), %d s\n", label, n, total, systime() - start }
'
