//go:build !linux

package serve

import (
	"fmt"
	"net/netip"
	"runtime"
)

// routedPrefixes is not implemented on this GOOS.
func routedPrefixes() ([]netip.Prefix, error) {
	return nil, fmt.Errorf("listing routes: not implemented on %s", runtime.GOOS)
}
