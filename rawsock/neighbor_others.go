//go:build !linux

package rawsock

import (
	"context"
	"net"
	"time"
)

// ResolveNeighborTrace is not implemented on this GOOS.
func ResolveNeighborTrace(ctx context.Context, r Route, tries int, interval time.Duration) (Neighbor, error) {
	return Neighbor{}, errNotImplemented
}

// Solicitor is not implemented on this GOOS.
type Solicitor struct{}

// OpenSolicitor is not implemented on this GOOS.
func OpenSolicitor(ifi *net.Interface) (*Solicitor, error) { return nil, errNotImplemented }

// Close does nothing on this GOOS.
func (*Solicitor) Close() error { return nil }

// ResolveNeighborVia is not implemented on this GOOS.
func ResolveNeighborVia(ctx context.Context, r Route, tries int, interval time.Duration, sol *Solicitor) (Neighbor, error) {
	return Neighbor{}, errNotImplemented
}
