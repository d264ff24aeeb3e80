package probe

import (
	"context"
	"hash/maphash"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/prefault"
	"github.com/tcpprobe/tcpprobe/rawsock"
)

// runState is one call of Run: its targets' plan, source ports and results.
type runState struct {
	p       *Prober
	ctx     context.Context
	started time.Time

	// routes is the route of each destination address, asked afresh in
	// each Run as each connect() would; written while planning (under
	// routesMu: a streamed run plans as it launches). A routeResult's nr
	// is protected by p.mu.
	routesMu sync.Mutex
	routes   map[netip.Addr]*routeResult
	router   Router // the run's route lookups, if the Network makes Routers

	// stream: targets come from a source as the launch takes them
	// (RunStream), and a decided probe leaves the run and the
	// demultiplexer as soon as its result is handed on, so the run holds
	// only what is in flight.
	stream bool

	ready chan struct{} // finished is not empty, or srcDone was set

	// Following fields are protected by p.mu.
	finished []*Result // decided, not yet emitted
	// unemitted counts the results delivered and not yet emitted: those
	// in finished and those the emit loop holds. A streamed run counts
	// them against the window of probes in flight, so a slow reader of
	// its results slows the launch instead of piling results up.
	unemitted int
	entries   []*entry // the probes the run registered (a stream's: those not decided)
	taken     int      // targets the run has taken on, each owed a result
	srcDone   bool     // no more targets will be taken on
	slab      probeSlab
	ports     map[netip.Addr]*portPool // source ports held, by local address
}

// planned is a target with its route, before its probe starts. The target
// and route are pointers: a sweep plans 65,535 targets to one destination,
// which share one route.
type planned struct {
	t  *Target
	rt *routeResult
	ls *linkState // the link its route leaves by (attachLinks)
	i  int        // t's index among the run's targets
}

// Run probes every target and calls emit, from one goroutine, with each
// result as it is decided. It returns when every target has a result. When
// ctx is cancelled, probes in flight end as interrupted, targets not yet
// started are reported interrupted too, and Run returns ctx.Err(). An
// *EnvError means the probing could not start at all. Runs may overlap.
func (p *Prober) Run(ctx context.Context, targets []Target, emit func(*Result)) error {
	r := p.newRun(ctx, false)
	defer r.releasePorts()
	r.taken, r.srcDone = len(targets), true

	// The probes' memory (states, demultiplexer) is made and faulted in
	// while routes are looked up and links set up, which mostly wait on
	// the kernel.
	memc := make(chan runMemory, 1)
	go func() { memc <- newRunMemory(len(targets), p.demuxSeed) }()

	defer r.openRouter()()
	plan, ifis, addrs, err := r.plan(targets, 0)
	if err != nil {
		return err
	}
	return p.launchRun(r, plan, ifis, addrs, len(targets) < ringProbes, memc, &planFeed{r: r, plan: plan}, emit)
}

// runMemory is a run's probe states, demultiplexer, list of entries and
// timer heap, made ahead (a stream's: none).
type runMemory struct {
	slab    probeSlab
	probes  demuxTable
	entries []*entry
	timers  timerHeap
}

// newRunMemory makes the memory of a run of n probes, every page faulted
// in (package prefault says why); its demultiplexer hashes under seed.
func newRunMemory(n int, seed maphash.Seed) runMemory {
	m := runMemory{slab: newSlab(n), probes: newDemuxTable(n, seed),
		entries: make([]*entry, 0, n), timers: make(timerHeap, 0, n)}
	prefault.Slice(m.entries)
	prefault.Slice(m.timers)
	return m
}

// newRun starts the state of one Run, and the Prober's watch of routing
// changes before the run looks any route up.
func (p *Prober) newRun(ctx context.Context, stream bool) *runState {
	p.linkMu.Lock()
	p.watchRoutes()
	p.linkMu.Unlock()
	return &runState{p: p, ctx: ctx, started: p.clock.Now(), ready: make(chan struct{}, 1),
		ports: map[netip.Addr]*portPool{}, routes: map[netip.Addr]*routeResult{}, stream: stream}
}

// launchRun opens the links the first planned probes need, calls
// Config.Ready once their next hops are known, and launches the feed's
// probes while results flow out to emit.
func (p *Prober) launchRun(r *runState, first []planned, ifis map[int]net.Interface, addrs map[int][]netip.Addr,
	queue bool, memc <-chan runMemory, f feed, emit func(*Result)) error {
	hops := r.startNextHops()
	if err := r.attachLinks(first, ifis, addrs, queue); err != nil {
		return err
	}
	if err := p.becomeReady(r.ctx, hops); err != nil {
		return err
	}
	if err := p.startTimerLoop(); err != nil {
		return err
	}

	m := <-memc
	p.mu.Lock()
	r.slab = m.slab
	if p.probes.len() == 0 && m.probes.slots != nil {
		p.probes = m.probes // presized for this run
	}
	if len(p.timers) == 0 && cap(p.timers) < cap(m.timers) {
		p.timers = m.timers
	}
	if len(r.entries) == 0 && m.entries != nil {
		r.entries = m.entries
	}
	p.runs++
	p.mu.Unlock()
	defer r.end()

	// Launch probes, paced and bounded, while results flow out.
	l := &launcher{r: r, feed: f}
	launchDone := make(chan struct{})
	go func() {
		defer close(launchDone)
		l.run()
	}()
	interrupted := r.emitAll(emit)
	<-launchDone
	l.slow.Wait()
	p.pollDrops(true)
	if interrupted {
		return r.ctx.Err()
	}
	return nil
}

// emitAll hands each of the run's results to emit as they are decided,
// until every target taken on has one, and interrupts the run when its
// context ends; it reports whether it did.
func (r *runState) emitAll(emit func(*Result)) (interrupted bool) {
	p := r.p
	drained := p.cfg.Drained
	var out []*Result
	emitted := 0
	for {
		p.mu.Lock()
		out, r.finished = r.finished, out[:0]
		p.mu.Unlock()
		for i, res := range out {
			emit(res)
			out[i] = nil
			emitted++
		}
		p.mu.Lock()
		r.unemitted -= len(out)
		over := r.srcDone && emitted >= r.taken
		p.mu.Unlock()
		if r.stream && len(out) > 0 {
			p.wakeLaunch()
		}
		if over {
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

// wake tells the emit loop to look again.
func (r *runState) wake() {
	select {
	case r.ready <- struct{}{}:
	default:
	}
}

// plan looks up the route of every target (the i-th is the run's
// target base+i) and returns the plan, and for each interface to open,
// its interface and the local addresses its filter must pass.
func (r *runState) plan(targets []Target, base int) ([]planned, map[int]net.Interface, map[int][]netip.Addr, error) {
	plan := make([]planned, len(targets))
	addrs := map[int][]netip.Addr{}
	ifis := map[int]net.Interface{}
	r.routesMu.Lock()
	defer r.routesMu.Unlock()
	if r.stream && len(r.routes) > maxStreamRoutes {
		r.routes = map[netip.Addr]*routeResult{} // planned probes keep theirs
	}
	var last *routeResult
	for i := range targets {
		t := &targets[i]
		// Consecutive targets mostly share an address (HOST -p PORTS):
		// only a new address costs a lookup and a filter check.
		if last != nil && last.r.Dst == t.Addr.Addr() && last.err == nil {
			plan[i] = planned{t: t, rt: last, i: base + i}
			continue
		}
		rt := r.route(t.Addr.Addr())
		plan[i] = planned{t: t, rt: rt, i: base + i}
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

// maxStreamRoutes bounds the routes a streamed run remembers by address.
const maxStreamRoutes = 1 << 12

// attachLinks gives every planned probe the link its route leaves by,
// opening those the Prober does not have yet (ifis and addrs, from plan;
// reading the socket queue, not a ring, when queue is set).
func (r *runState) attachLinks(plan []planned, ifis map[int]net.Interface, addrs map[int][]netip.Addr, queue bool) error {
	p := r.p
	links, err := p.openLinks(ifis, addrs, queue)
	if err != nil {
		return err
	}
	for i := range plan {
		if plan[i].rt.err == nil {
			plan[i].ls = links[plan[i].rt.r.Interface.Index]
		}
	}
	return nil
}

// deliver queues a decided result for Run's emit loop; p.mu is held. The
// queue is unbounded so the receive loop never waits on the output.
func (r *runState) deliver(res *Result) {
	r.finished = append(r.finished, res)
	r.unemitted++
	r.wake()
}

// handOver delivers the result of e, a probe of the run that is decided;
// a streamed run lets go of e at once. p.mu is held.
func (r *runState) handOver(e *entry, res *Result) {
	res.Target, res.Index, res.Interface, res.Expect = e.name, e.index, e.link.ifi.Name, e.expect
	r.deliver(res)
	if !r.stream {
		return // the run keeps its 4-tuple, so no later probe of it reuses one
	}
	r.p.probes.remove(e)
	if i := int(e.ridx); i >= 0 && i < len(r.entries) && r.entries[i] == e {
		last := len(r.entries) - 1
		r.entries[i] = r.entries[last]
		r.entries[i].ridx = int32(i)
		r.entries[last] = nil
		r.entries = r.entries[:last]
		e.ridx = -1
	}
}

// interrupt ends every probe of the run in flight as interrupted.
func (r *runState) interrupt() {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	// A copy: a streamed run's entries leave the list as they are handed over.
	for _, e := range append([]*entry(nil), r.entries...) {
		e.pending = false // a slow re-probe that never started ends here
		if out := e.m.Interrupt(now); out.Done {
			p.unschedule(e)
			p.release()
			r.handOver(e, e.m.Result())
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
		p.probes = demuxTable{seed: p.demuxSeed}
	}
	for i, e := range r.entries {
		if !last {
			p.probes.remove(e)
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
