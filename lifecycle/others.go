//go:build !linux

package lifecycle

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"

	"github.com/tcpprobe/tcpprobe/probe"
)

var errNotImplemented = fmt.Errorf("lifecycle: not implemented on %s: recording connections needs Linux (AF_PACKET, sock_diag)", runtime.GOOS)

// ACKConfig configures an ACKScanner.
type ACKConfig struct {
	Profile    probe.Profile
	Interface  string
	Source     netip.Addr
	SourcePort uint16
	TTL        uint8
	Ready      func() error
}

// Handshaker runs --handshake full; not implemented on this GOOS.
type Handshaker struct{}

// NewHandshaker returns a Handshaker that fails.
func NewHandshaker(cfg Config) *Handshaker { return &Handshaker{} }

// Run is not implemented on this GOOS.
func (h *Handshaker) Run(ctx context.Context, targets []probe.Target, emit func(*probe.Result)) error {
	return &probe.EnvError{Err: errNotImplemented}
}

// ACKScanner runs --scan ack; not implemented on this GOOS.
type ACKScanner struct{}

// NewACKScanner returns an ACKScanner that fails.
func NewACKScanner(cfg ACKConfig) *ACKScanner { return &ACKScanner{} }

// Run is not implemented on this GOOS.
func (a *ACKScanner) Run(ctx context.Context, targets []probe.Target, emit func(*probe.Result)) error {
	return &probe.EnvError{Err: errNotImplemented}
}
