// Package conformance runs the upstream Gateway API conformance suite, unmodified:
// this file only gives `go test -c` a package of our own to compile it into.
package conformance

import (
	"testing"

	"sigs.k8s.io/gateway-api/conformance"
)

func TestConformance(t *testing.T) {
	conformance.RunConformance(t)
}
