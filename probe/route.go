package probe

import (
	"errors"
	"net/netip"
	"syscall"

	"github.com/tcpprobe/tcpprobe/rawsock"
)

// routeResult is the kernel's answer for one destination address.
type routeResult struct {
	r   rawsock.Route
	err error
	nr  *neighResult // its next hop once resolved, so a sweep looks it up once; p.mu
	gw  *gateway     // its next hop's state (ratelimit.go), once a probe took it; p.mu
	gen uint64       // the routing generation the lookup saw (routegen.go)
}

// route looks up the route to dst, once per destination address and Run;
// only while planning, r.routesMu held.
func (r *runState) route(dst netip.Addr) *routeResult {
	if rt, ok := r.routes[dst]; ok {
		return rt
	}
	var (
		rr  rawsock.Route
		err error
		gen = r.p.routeGeneration() // before the lookup: a change during it moves it on
	)
	if r.router != nil {
		rr, err = r.router.RouteTo(dst, r.p.routeOptions())
	} else {
		rr, err = r.p.routeTo(dst)
	}
	rt := &routeResult{r: rr, err: err, gen: gen}
	r.routes[dst] = rt
	return rt
}

// routeTo asks the kernel for the route to dst under the Prober's
// interface and source constraints.
func (p *Prober) routeTo(dst netip.Addr) (rawsock.Route, error) {
	return p.net.RouteTo(dst, p.routeOptions())
}

// routeOptions are the constraints of every route the Prober looks up.
func (p *Prober) routeOptions() rawsock.RouteOptions {
	return rawsock.RouteOptions{Interface: p.cfg.Interface, Source: p.cfg.Source}
}

// openRouter gives the run a Router for its route lookups (a streamed run
// plans as it launches), when the Network makes them: opening one costs
// less than one lookup without it. Lookups go through the Network when it
// does not. It returns the Router's Close.
func (r *runState) openRouter() func() {
	rn, ok := r.p.net.(RouterNetwork)
	if !ok {
		return func() {}
	}
	rt, err := rn.NewRouter()
	if err != nil {
		return func() {} // a socket per lookup still works
	}
	r.router = rt
	return func() { rt.Close(); r.router = nil }
}

// RouteReason is the reason word of a local error: what the kernel's route
// lookup (or connect(2), which fails the same way before a packet leaves,
// spec §4) said with errno.
func RouteReason(errno syscall.Errno) string {
	switch errno {
	case syscall.ENETUNREACH:
		return ReasonNoRoute
	case syscall.EHOSTUNREACH:
		return ReasonRouteUnreach
	case syscall.EACCES, syscall.EPERM:
		return ReasonRouteProhibit
	case syscall.EINVAL:
		return ReasonRouteBlackhol
	}
	return ReasonLocal
}

// routeFailure is the result for a target the kernel would not route:
// connect(2) fails before a packet leaves (spec §4).
func (r *runState) routeFailure(pl *planned) *Result {
	var re *rawsock.RouteError
	if errors.As(pl.rt.err, &re) {
		return r.localResult(pl, LocalError, re.Errno, RouteReason(re.Errno))
	}
	var errno syscall.Errno
	if !errors.As(pl.rt.err, &errno) {
		errno = syscall.EINVAL
	}
	return r.localResult(pl, LocalError, errno, ReasonLocal)
}

// neighborFailure is the result for a target whose next hop never
// answered: decided locally, over the time the resolution took (the
// kernel's connect(2) fails with EHOSTUNREACH after the same wait).
func (r *runState) neighborFailure(pl *planned, nr *neighResult) *Result {
	return r.neighborResult(pl, nr)
}
