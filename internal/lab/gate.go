package lab

import (
	"sync"
	"time"
)

// RouteErrorSpacing is the least time between two probes held by RouteErrorGate.
const RouteErrorSpacing = 1100 * time.Millisecond

var routeErrorGate struct {
	mu   sync.Mutex
	last time.Time // when the previous holder released the gate
}

// RouteErrorGate serialises and spaces probes whose answer the router generates from its
// routing table (router unreachable, prohibit and no-route targets, IPv4): that ICMP goes
// through ip_error(), limited by a host-global bucket (net.ipv4.route.error_cost and
// error_burst exist only in the initial namespace), so such probes must be at least
// RouteErrorSpacing apart, across every lab in the process. It blocks until the caller
// may probe and returns the release func, which the caller calls once its probe is
// answered (or given up). Calling release more than once is harmless.
func RouteErrorGate() (release func()) {
	routeErrorGate.mu.Lock()
	if wait := RouteErrorSpacing - time.Since(routeErrorGate.last); !routeErrorGate.last.IsZero() && wait > 0 {
		time.Sleep(wait)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			routeErrorGate.last = time.Now()
			routeErrorGate.mu.Unlock()
		})
	}
}
