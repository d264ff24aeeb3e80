//go:build !linux

package rawsock

import (
	"context"
	"net"
	"net/netip"
)

// Tap records one TCP connection; not implemented on this GOOS.
type Tap struct{}

// OpenTap is not implemented on this GOOS.
func OpenTap(ifi *net.Interface, local, remote netip.AddrPort) (*Tap, error) {
	return nil, errNotImplemented
}

// Receive is not implemented on this GOOS.
func (t *Tap) Receive(ctx context.Context, fn func(pkt []byte, info RecvInfo, outgoing bool)) error {
	return errNotImplemented
}

// Close is not implemented on this GOOS.
func (t *Tap) Close() error { return errNotImplemented }
