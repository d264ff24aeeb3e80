//go:build !linux

package spoof

import (
	"net"
	"net/netip"
)

// MAC returns nil: not implemented on this GOOS.
func (t *Tap) MAC() net.HardwareAddr { return nil }

// InjectFrame fails: not implemented on this GOOS.
func (t *Tap) InjectFrame(f []byte) error { return errNotImplemented }

// Forger plays the target; Linux only.
type Forger struct{}

// StartForger returns a forger that does nothing: not implemented on this
// GOOS (Stop says so).
func StartForger(tap *Tap, dsts []netip.Addr, answers map[uint16]Answer) *Forger {
	return &Forger{}
}

// SYNs returns 0: not implemented on this GOOS.
func (f *Forger) SYNs(dst netip.AddrPort) int { return 0 }

// Stop fails: not implemented on this GOOS.
func (f *Forger) Stop() error { return errNotImplemented }
