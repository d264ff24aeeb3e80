//go:build !linux

package bench

import (
	"fmt"
	"runtime"
)

// Ceiling is not implemented off Linux.
func Ceiling(cfg CeilingConfig) (float64, error) {
	return 0, fmt.Errorf("bench: Ceiling (AF_PACKET) is not implemented on %s", runtime.GOOS)
}
