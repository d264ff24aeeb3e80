package probe

import (
	"context"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/rawsock"
)

// runState is one call of Run: its targets' plan, source ports and results.
type runState struct {
	p       *Prober
	ctx     context.Context
	started time.Time

	// routes is the route of each destination address, asked afresh in
	// each Run as each connect() would; written while planning, before any
	// probe starts. A routeResult's nr is protected by p.mu.
	routes map[netip.Addr]*routeResult
	router Router // while planning, if the Network makes them

	ready chan struct{} // finished is not empty

	// Following fields are protected by p.mu.
	finished []*Result // decided, not yet emitted
	entries  []*entry  // every probe the run registered
	slab     probeSlab
	ports    map[netip.Addr]*portPool // source ports held, by local address
}

// planned is a target with its route, before its probe starts. The target
// and route are pointers: a sweep plans 65,535 targets to one destination,
// which share one route.
type planned struct {
	t  *Target
	rt *routeResult
	i  int // t's index in Run's targets
}

// Run probes every target and calls emit, from one goroutine, with each
// result as it is decided. It returns when every target has a result. When
// ctx is cancelled, probes in flight end as interrupted, targets not yet
// started are reported interrupted too, and Run returns ctx.Err(). An
// *EnvError means the probing could not start at all. Runs may overlap.
func (p *Prober) Run(ctx context.Context, targets []Target, emit func(*Result)) error {
	r := &runState{p: p, ctx: ctx, started: p.clock.Now(), ready: make(chan struct{}, 1), ports: map[netip.Addr]*portPool{}}
	defer r.releasePorts()

	// The probes' memory (states, demultiplexer) is made and faulted in
	// while routes are looked up and links set up, which mostly wait on
	// the kernel.
	type mem struct {
		slab   []probeState
		probes map[demuxKey]*entry
	}
	memc := make(chan mem, 1)
	go func() { memc <- mem{newSlab(len(targets)), make(map[demuxKey]*entry, len(targets))} }()

	p.linkMu.Lock()
	p.watchRoutes() // before any route of the run is looked up
	p.linkMu.Unlock()
	plan, ifis, addrs, err := r.plan(targets)
	if err != nil {
		return err
	}
	hops := r.startNextHops()
	links, err := p.openLinks(ifis, addrs, len(targets) < ringProbes)
	if err != nil {
		return err
	}
	if err := p.becomeReady(ctx, hops); err != nil {
		return err
	}
	if err := p.startTimerLoop(); err != nil {
		return err
	}

	m := <-memc
	p.mu.Lock()
	r.slab = probeSlab{s: m.slab}
	if len(p.probes) == 0 {
		p.probes = m.probes // presized for this run
	}
	p.runs++
	p.mu.Unlock()
	defer r.end()

	// Launch probes, paced and bounded, while results flow out.
	l := &launcher{r: r, plan: plan, links: links}
	launchDone := make(chan struct{})
	go func() {
		defer close(launchDone)
		l.run()
	}()
	interrupted := r.emitAll(len(targets), emit)
	<-launchDone
	l.slow.Wait()
	p.pollDrops(true)
	if interrupted {
		return ctx.Err()
	}
	return nil
}

// emitAll hands each of the run's n results to emit as they are decided,
// and interrupts the run when its context ends; it reports whether it did.
func (r *runState) emitAll(n int, emit func(*Result)) (interrupted bool) {
	p := r.p
	drained := p.cfg.Drained
	var out []*Result
	for n > 0 {
		p.mu.Lock()
		out, r.finished = r.finished, out[:0]
		p.mu.Unlock()
		for i, res := range out {
			emit(res)
			out[i] = nil
			n--
		}
		if n == 0 {
			break
		}
		if len(out) > 0 && drained != nil {
			select {
			case <-r.ready:
				continue
			default:
				drained()
			}
		}
		select {
		case <-r.ready:
		case <-r.ctx.Done():
			if !interrupted {
				interrupted = true
				go r.interrupt()
			}
			<-r.ready
		}
	}
	if drained != nil {
		drained()
	}
	return interrupted
}

// plan looks up the route of every target and returns the plan, and for
// each interface to open, its interface and the local addresses its
// filter must pass.
func (r *runState) plan(targets []Target) ([]planned, map[int]net.Interface, map[int][]netip.Addr, error) {
	plan := make([]planned, len(targets))
	addrs := map[int][]netip.Addr{}
	ifis := map[int]net.Interface{}
	r.routes = map[netip.Addr]*routeResult{}
	defer r.openRouter()()
	var last *routeResult
	for i := range targets {
		t := &targets[i]
		// Consecutive targets mostly share an address (HOST -p PORTS):
		// only a new address costs a lookup and a filter check.
		if last != nil && last.r.Dst == t.Addr.Addr() && last.err == nil {
			plan[i] = planned{t: t, rt: last, i: i}
			continue
		}
		rt := r.route(t.Addr.Addr())
		plan[i] = planned{t: t, rt: rt, i: i}
		last = rt
		if rt.err != nil {
			continue
		}
		rr := &rt.r
		if rr.Local {
			if err := rawsock.CheckLoopback(rr.Dst); err != nil {
				return nil, nil, nil, &EnvError{Err: err, Fallback: true}
			}
		}
		idx := rr.Interface.Index
		ifis[idx] = rr.Interface
		if !containsAddr(addrs[idx], rr.Src) {
			addrs[idx] = append(addrs[idx], rr.Src)
		}
	}
	return plan, ifis, addrs, nil
}

// deliver queues a decided result for Run's emit loop; p.mu is held. The
// queue is unbounded so the receive loop never waits on the output.
func (r *runState) deliver(res *Result) {
	r.finished = append(r.finished, res)
	select {
	case r.ready <- struct{}{}:
	default:
	}
}

// interrupt ends every probe of the run in flight as interrupted.
func (r *runState) interrupt() {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	for _, e := range r.entries {
		e.pending = false // a slow re-probe that never started ends here
		if out := e.m.Interrupt(now); out.Done {
			p.unschedule(e)
			p.release()
			r.deliver(e.m.Result())
		}
	}
}

// end takes the run's probes out of the demultiplexer; every one is
// decided by now.
func (r *runState) end() {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	last := p.runs == 1
	if last {
		// The only run: the demultiplexer holds nothing else.
		p.probes = map[demuxKey]*entry{}
	}
	for i, e := range r.entries {
		if !last {
			if k := e.key.demux(); p.probes[k] == e {
				delete(p.probes, k)
			}
		}
		p.unschedule(e)
		r.entries[i] = nil
	}
	r.slab = probeSlab{}
	p.runs--
}

// localResult is the result of a target decided without a packet.
func (r *runState) localResult(pl *planned, o Outcome, errno syscall.Errno, reason string) *Result {
	p := r.p
	now := p.clock.Now()
	return &Result{
		Target: pl.t.Name, Index: pl.i, Addr: pl.t.Addr.Addr(), Port: pl.t.Addr.Port(),
		Interface: pl.rt.r.Interface.Name, Src: pl.rt.r.Src,
		Profile: p.profileOf(pl.t).Name, Schedule: p.profileOf(pl.t).Schedule, ICMP: p.profileOf(pl.t).ICMP,
		Outcome: o, Errno: errno, Reason: reason, Started: now, Finished: now, Expect: pl.t.Expect,
	}
}

func containsAddr(s []netip.Addr, a netip.Addr) bool {
	for _, x := range s {
		if x == a {
			return true
		}
	}
	return false
}
