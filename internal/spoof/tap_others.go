//go:build !linux

package spoof

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"time"

	"github.com/tcpprobe/tcpprobe/wire"
)

var errNotImplemented = errors.New("spoof: Tap is not implemented on " + runtime.GOOS + " (it needs Linux AF_PACKET)")

// Tap captures and injects frames on one interface; Linux only.
type Tap struct{}

// Frame is one captured frame's link-layer source and IP packet.
type Frame struct {
	Src    net.HardwareAddr
	Packet []byte
}

// OpenTap fails: not implemented on this GOOS.
func OpenTap(ifname string) (*Tap, error) { return nil, errNotImplemented }

// Close does nothing.
func (t *Tap) Close() error { return errNotImplemented }

// Next fails: not implemented on this GOOS.
func (t *Tap) Next(deadline time.Time) (Frame, error) { return Frame{}, errNotImplemented }

// WaitSYN fails: not implemented on this GOOS.
func (t *Tap) WaitSYN(dst netip.AddrPort, deadline time.Time) (SYN, error) {
	return SYN{}, errNotImplemented
}

// WaitTCP fails: not implemented on this GOOS.
func (t *Tap) WaitTCP(s SYN, deadline time.Time, match func(wire.Segment) bool) (wire.Segment, error) {
	return wire.Segment{}, errNotImplemented
}

// Inject fails: not implemented on this GOOS.
func (t *Tap) Inject(dst net.HardwareAddr, pkt []byte) error { return errNotImplemented }
