//go:build !linux

package kconnect

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
)

// connect is not implemented outside Linux: every target is a local error
// saying so.
func (p *Prober) connect(ctx context.Context, t probe.Target) *probe.Result {
	r := p.result(t, time.Now(), probe.LocalError, syscall.ENOSYS, fmt.Sprintf("connect mode is not implemented on %s", runtime.GOOS))
	return r
}
