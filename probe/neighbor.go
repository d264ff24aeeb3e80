package probe

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/tcpprobe/tcpprobe/rawsock"
)

type neighKey struct {
	ifindex int
	addr    netip.Addr
}

// neighResult is one next hop's resolution; its fields are written before
// done is closed and only read after.
type neighResult struct {
	done              chan struct{}
	mac               net.HardwareAddr
	err               error
	trace             rawsock.Neighbor // the solicitations it sent
	started, finished time.Time        // the resolution's own span
}

// neighCache resolves each next hop once. A next hop that answered is
// remembered for the Prober's life, so later Runs need no privilege to
// reach it; one that did not is asked again by the next Run that needs it.
type neighCache struct {
	p  *Prober
	wg sync.WaitGroup // resolutions under way

	mu sync.Mutex // guards m
	m  map[neighKey]*neighResult
}

func (c *neighCache) init(p *Prober) {
	c.p = p
	c.m = map[neighKey]*neighResult{}
}

// lookup returns the route's next hop and whether it is resolved; if it is
// not known, it starts resolving it in the background. A failed
// resolution older than since is started again.
func (c *neighCache) lookup(r rawsock.Route, since time.Time) (*neighResult, bool) {
	k := neighKey{r.Interface.Index, r.NextHop}
	c.mu.Lock()
	nr, ok := c.m[k]
	if ok && nr.resolved() && nr.err != nil && nr.finished.Before(since) {
		ok = false
	}
	if !ok {
		nr = &neighResult{done: make(chan struct{}), started: c.p.clock.Now()}
		c.m[k] = nr
		c.wg.Add(1)
		// Only this branch copies the route to the heap: a sweep asks for
		// a known next hop once per destination address.
		rr := r
		go func() {
			defer c.wg.Done()
			nr.mac, nr.trace, nr.err = c.resolve(c.p.life, rr)
			nr.finished = c.p.clock.Now()
			close(nr.done)
		}()
	}
	c.mu.Unlock()
	return nr, nr.resolved()
}

// wait waits for the resolutions under way (Close ended their context).
func (c *neighCache) wait() { c.wg.Wait() }

func (nr *neighResult) resolved() bool {
	select {
	case <-nr.done:
		return true
	default:
		return false
	}
}

// startNextHops starts resolving the next hop of every route of the run,
// so they resolve while the links are set up, and returns them; only
// before Config.Ready, which waits for them. Otherwise the launch starts
// each as it comes to it.
func (r *runState) startNextHops() []*neighResult {
	p := r.p
	p.readyMu.Lock()
	done := p.cfg.Ready == nil || p.readyDone
	p.readyMu.Unlock()
	if done {
		return nil
	}
	var hops []*neighResult
	seen := map[*neighResult]bool{}
	for _, rt := range r.routes {
		if rt.err != nil {
			continue
		}
		if nr, _ := p.neigh.lookup(rt.r, r.started); !seen[nr] {
			seen[nr] = true
			hops = append(hops, nr)
		}
	}
	return hops
}

// becomeReady calls Config.Ready once in the Prober's life, once the next
// hops of the first Run (hops, from startNextHops) are resolved: the last
// step that needs privilege. An overlapping Run waits for it.
func (p *Prober) becomeReady(ctx context.Context, hops []*neighResult) error {
	p.readyMu.Lock()
	defer p.readyMu.Unlock()
	if p.cfg.Ready == nil || p.readyDone {
		return nil
	}
	for _, nr := range hops {
		select {
		case <-nr.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.readyDone = true
	p.readyCalled.Store(true)
	if err := p.cfg.Ready(); err != nil {
		return &EnvError{Err: err}
	}
	return nil
}
