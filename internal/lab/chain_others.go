//go:build !linux

package lab

import (
	"context"
	"os/exec"
	"time"
)

// Chain is the trace lab; see the Linux build.
type Chain struct {
	Prefix                 string
	Client, Server, Cookie string
	Routers                []string
}

// BuildChain is not implemented off Linux.
func BuildChain() (*Chain, error) { return nil, errNotImplemented }

// FillAcceptQueue is not implemented off Linux.
func (c *Chain) FillAcceptQueue(port int, v6 bool) error { return errNotImplemented }

// AcceptOneAfter is not implemented off Linux.
func (c *Chain) AcceptOneAfter(v6 bool, d time.Duration) {}

// ECMPCounts is not implemented off Linux.
func (c *Chain) ECMPCounts(tag string, v6 bool) (a, b int, err error) {
	return 0, 0, errNotImplemented
}

// Exec is not implemented off Linux.
func (c *Chain) Exec(ns string, args ...string) (string, error) { return "", errNotImplemented }

// Do is not implemented off Linux.
func (c *Chain) Do(ns string, fn func() error) error { return errNotImplemented }

// Command is not implemented off Linux.
func (c *Chain) Command(ctx context.Context, ns string, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, name, args...)
}

// Close is not implemented off Linux.
func (c *Chain) Close() error { return errNotImplemented }
