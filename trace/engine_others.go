//go:build !linux

package trace

import (
	"context"
	"fmt"
	"runtime"
)

// Run is not implemented off Linux: it needs AF_PACKET sockets.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	return nil, fmt.Errorf("trace: not implemented on %s (needs Linux AF_PACKET sockets)", runtime.GOOS)
}
