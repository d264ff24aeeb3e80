//go:build !linux

package lab

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

var errNotImplemented = fmt.Errorf("lab: network namespaces are not implemented on %s", runtime.GOOS)

type delayer struct{}

// Capture is a running tcpdump; see the Linux build.
type Capture struct{}

// Build is not implemented on this GOOS.
func Build(kind string) (*Lab, error) { return nil, errNotImplemented }

// Close is not implemented on this GOOS.
func (l *Lab) Close() error { return errNotImplemented }

// Exec is not implemented on this GOOS.
func (l *Lab) Exec(ns string, args ...string) (string, error) { return "", errNotImplemented }

// Command returns a command that fails to start on this GOOS.
func (l *Lab) Command(ctx context.Context, ns string, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "false")
}

// Do is not implemented on this GOOS.
func (l *Lab) Do(ns string, fn func() error) error { return errNotImplemented }

// KernelConnect is not implemented on this GOOS.
func (l *Lab) KernelConnect(ns string, dst netip.AddrPort, timeout time.Duration) (syscall.Errno, time.Duration, error) {
	return 0, 0, errNotImplemented
}

// FlushNeighbors is not implemented on this GOOS.
func (l *Lab) FlushNeighbors() error { return errNotImplemented }

// ResetDropFirst is not implemented on this GOOS.
func (l *Lab) ResetDropFirst() error { return errNotImplemented }

// SYNCount is not implemented on this GOOS.
func (l *Lab) SYNCount(dport uint16) (int, error) { return 0, errNotImplemented }

// SYNSeen is not implemented on this GOOS.
func (l *Lab) SYNSeen(dport uint16) (int, error) { return 0, errNotImplemented }

// Capture is not implemented on this GOOS.
func (l *Lab) Capture(ns, iface, filter string) (*Capture, error) { return nil, errNotImplemented }

// Stop is not implemented on this GOOS.
func (c *Capture) Stop() ([]Packet, error) { return nil, errNotImplemented }
