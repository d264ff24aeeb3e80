//go:build !linux

package listeners

import (
	"fmt"
	"runtime"
)

// Snapshot is not implemented on this GOOS.
func Snapshot() (*Sample, error) {
	return nil, fmt.Errorf("listeners: not implemented on %s: it reads Linux's sock_diag and /proc/net", runtime.GOOS)
}
