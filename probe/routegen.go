package probe

import (
	"sync/atomic"

	"github.com/tcpprobe/tcpprobe/rawsock"
)

// RouteWatcher is a Network that says when its routing state changes;
// Host is one. A Prober whose Network is one asks the kernel for a
// waiting probe's route again before a retransmission only when something
// changed since the probe's route was looked up, as the kernel's own
// retransmission rechecks its cached route (its generation number moves
// on every routing change) and looks it up again only then. Without one,
// every retransmission asks.
type RouteWatcher interface {
	// WatchRoutes calls changed after each change and lost, once, if
	// changes may have gone unreported; stop ends the watch.
	WatchRoutes(changed, lost func()) (stop func(), err error)
}

// WatchRoutes watches the host's links, addresses, routes and rules.
func (Host) WatchRoutes(changed, lost func()) (stop func(), err error) {
	return rawsock.WatchRoutes(changed, lost)
}

// routeGen counts routing changes a Prober has heard of.
type routeGen struct {
	watching atomic.Bool   // changes are heard: a generation that did not move means no change
	gen      atomic.Uint64 // moves on every change
	stop     func()        // ends the watch; linkMu
}

// watchRoutes starts listening for routing changes, once in the Prober's
// life, before the first Run looks a route up; p.linkMu is held.
func (p *Prober) watchRoutes() {
	rw, ok := p.net.(RouteWatcher)
	if !ok || p.routes.stop != nil {
		return
	}
	stop, err := rw.WatchRoutes(func() { p.routes.gen.Add(1) }, func() {
		p.routes.watching.Store(false) // every retransmission asks again
		p.routes.gen.Add(1)
	})
	if err != nil {
		return // every retransmission asks again
	}
	p.routes.stop = stop
	p.routes.watching.Store(true)
}

// routeGeneration is the generation to note before a route lookup.
func (p *Prober) routeGeneration() uint64 { return p.routes.gen.Load() }

// routeMayHaveChanged reports whether e's route must be asked for again
// before a retransmission.
func (p *Prober) routeMayHaveChanged(e *entry) bool {
	return !p.routes.watching.Load() || p.routes.gen.Load() != e.routeGen
}
