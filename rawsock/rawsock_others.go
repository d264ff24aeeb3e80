//go:build !linux

package rawsock

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"time"
)

// errNotImplemented is what every function returns off Linux.
var errNotImplemented = fmt.Errorf("rawsock: not implemented on %s: tcpprobe's raw sockets need Linux (AF_PACKET)", runtime.GOOS)

// RouteTo is not implemented on this GOOS.
func RouteTo(dst netip.Addr, opt RouteOptions) (Route, error) { return Route{}, errNotImplemented }

// ResolveNeighbor is not implemented on this GOOS.
func ResolveNeighbor(ctx context.Context, r Route, tries int, interval time.Duration) (net.HardwareAddr, error) {
	return nil, errNotImplemented
}

// ReservePort is not implemented on this GOOS.
func ReservePort(src netip.Addr) (port uint16, release func(), err error) {
	return 0, nil, errNotImplemented
}

// Link is one AF_PACKET socket on one interface; not implemented on this GOOS.
type Link struct{ ifi net.Interface }

// Open is not implemented on this GOOS.
func Open(ifi *net.Interface, cfg LinkConfig) (*Link, error) { return nil, errNotImplemented }

// WriteIP is not implemented on this GOOS.
func (l *Link) WriteIP(pkt []byte, dst net.HardwareAddr) error { return errNotImplemented }

// Receive is not implemented on this GOOS.
func (l *Link) Receive(ctx context.Context, fn func(pkt []byte, info RecvInfo)) error {
	return errNotImplemented
}

// Stats is not implemented on this GOOS.
func (l *Link) Stats() (LinkStats, error) { return LinkStats{}, errNotImplemented }

// Interface returns the interface the link is open on.
func (l *Link) Interface() net.Interface { return l.ifi }

// Close is not implemented on this GOOS.
func (l *Link) Close() error { return errNotImplemented }

// CheckLoopback is not implemented on this GOOS.
func CheckLoopback(dst netip.Addr) error { return errNotImplemented }

// CheckSourcePort has nothing to check on this GOOS: raw probing is
// Linux only, and connect(2) binds the port itself.
func CheckSourcePort(src netip.Addr, port uint16) error { return nil }

// Router is not implemented on this GOOS.
type Router struct{}

// NewRouter is not implemented on this GOOS.
func NewRouter() (*Router, error) { return nil, errNotImplemented }

// RouteTo is not implemented on this GOOS.
func (*Router) RouteTo(dst netip.Addr, opt RouteOptions) (Route, error) {
	return Route{}, errNotImplemented
}

// Close does nothing on this GOOS.
func (*Router) Close() error { return nil }

// WatchRoutes is not implemented on this GOOS.
func WatchRoutes(changed, lost func()) (stop func(), err error) { return nil, errNotImplemented }
