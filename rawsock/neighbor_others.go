//go:build !linux

package rawsock

import (
	"context"
	"time"
)

// ResolveNeighborTrace is not implemented on this GOOS.
func ResolveNeighborTrace(ctx context.Context, r Route, tries int, interval time.Duration) (Neighbor, error) {
	return Neighbor{}, errNotImplemented
}
