package probe

import (
	"container/heap"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/icmp"
	"github.com/tcpprobe/tcpprobe/rawsock"
	"github.com/tcpprobe/tcpprobe/wire"
)

// Target is one address and port to probe.
type Target struct {
	Name   string // as the user gave it, for the report
	Addr   netip.AddrPort
	Expect string // an assertion the caller attaches; carried into the Result
	// Profile, if set, replaces Config.Profile for this target only (its
	// schedule must pass Schedule.Validate): one Prober, and its links,
	// serves targets probed with different schedules.
	Profile *Profile
}

// Config configures a Prober.
type Config struct {
	Profile    Profile
	Interface  string     // leave through this interface only
	Source     netip.Addr // use this source address
	SourcePort uint16     // use this source port for every probe (0: a free random one each)
	TTL        uint8      // 0: 64
	Window     uint16     // 0: 64240, Linux's initial window for a 1460-byte MSS
	Options    wire.Options
	// Rate caps new probes per second. 0 or RateMax: as fast as every
	// answer is still caught (an adaptive window of probes in flight that
	// shrinks when the kernel drops replies). Retransmissions and
	// teardowns are not paced.
	Rate float64
	// Concurrency caps probes in flight (0: no cap beyond the targets, or
	// the adaptive window under RateMax).
	Concurrency int
	Network     Network          // nil: Host{}
	Now         func() time.Time // nil: time.Now
	// Ready, if set, is called once in the Prober's life, after its links
	// are open and the next hops of the first Run are resolved, before its
	// first SYN: from then on nothing the Prober does needs privilege, so
	// Ready is where the caller drops it. An error ends the Run with an
	// *EnvError before anything is sent.
	Ready func() error
	// Drained, if set, is called from Run's goroutine, the one that calls
	// emit, each time emit has been handed every result decided so far and
	// Run is about to wait for more, and once before Run returns: the
	// moment for a caller that buffers its output to flush it, so each
	// result still reaches its reader promptly.
	Drained func()
}

// DefaultOptions are the options Linux puts in a SYN on an Ethernet path:
// MSS 1460, SACK permitted, timestamps, window scale 7.
func DefaultOptions() wire.Options {
	return wire.Options{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true, HasWScale: true, WScale: 7}
}

// Stats counts what the Prober saw that no probe could use, and what the
// kernel could not hand it.
type Stats struct {
	Unmatched uint64 // well-formed packets for no probe of ours
	Malformed uint64 // packets that did not parse
	// Dropped is the kernel's PACKET_STATISTICS drop count over every
	// link: received packets lost because the socket buffer was full.
	Dropped uint64
	// Reprobed counts probes run again (new ISS) because they gave up
	// while the kernel was dropping received packets.
	Reprobed uint64
	// Unsure counts results that still gave up under drops after
	// maxReprobes tries; each carries an event with Why WhyReceiveDrops.
	Unsure uint64
	// ReceiveErrors counts reads a link failed (the interface went down);
	// its read loop starts again.
	ReceiveErrors uint64
}

// tuple is a probe's 4-tuple, from our side.
type tuple struct {
	local, remote netip.Addr
	lport, rport  uint16
}

// demuxKey is a 4-tuple as the demultiplexer keys it: 38 bytes without
// pointers or padding, hashed and compared as one block of memory (a
// tuple, with netip.Addr's zone pointer and padding, takes a field-by-field
// hash). v6 keeps an IPv4 address apart from its IPv4-mapped IPv6 twin;
// zones play no part (a probe's link fixes its interface).
type demuxKey struct {
	local, remote [16]byte
	lport, rport  uint16
	v6            uint16 // 1 for IPv6
}

func (t tuple) demux() demuxKey {
	k := demuxKey{local: t.local.As16(), remote: t.remote.As16(), lport: t.lport, rport: t.rport}
	if t.local.Is6() {
		k.v6 = 1
	}
	return k
}

// entry is one registered probe.
type entry struct {
	m        *Machine
	key      tuple
	link     *linkState
	due      int64  // deadline, nanoseconds after Prober.base
	dropsAt  uint64 // link.drops when the probe (re)started
	hidx     int32  // index in the timer heap, -1 when not in it
	mac      [6]byte
	hasMAC   bool  // mac is set (not on links without a link layer)
	reprobes uint8 // times run again because replies were dropped
}

// nextHop returns the probe's next-hop hardware address, nil if none.
func (e *entry) nextHop() net.HardwareAddr {
	if !e.hasMAC {
		return nil
	}
	return e.mac[:]
}

type linkState struct {
	link  Link
	batch BatchLink // nil if the link cannot batch
	stats StatsLink // nil if the link has no drop counter
	ifi   net.Interface
	addrs []netip.Addr // local addresses its filter passes
	drops uint64       // kernel drops seen so far; p.mu
}

// covers reports whether the link's filter passes every address of want.
func (ls *linkState) covers(want []netip.Addr) bool {
	for _, a := range want {
		if !containsAddr(ls.addrs, a) {
			return false
		}
	}
	return true
}

// Prober runs probes over shared raw links. Its links stay open from the
// first Run that needs them until Close, so several Runs (rounds of -c)
// share them; Runs must not overlap.
type Prober struct {
	cfg Config
	net Network
	now func() time.Time

	// Links and what outlives a Run; guarded by p.mu.
	open      map[int]*linkState // by interface index
	neigh     map[neighKey]*neighResult
	readyDone bool
	recvStop  context.CancelFunc
	recvCtx   context.Context
	recvWG    sync.WaitGroup

	mu        sync.Mutex
	probes    map[demuxKey]*entry
	timers    timerHeap
	base      time.Time // timer heap times are offsets from it
	wake      chan struct{}
	finished  []*Result     // decided, not yet emitted
	ready     chan struct{} // finished is not empty
	slot      chan struct{} // a probe left the window
	inflight  int           // probes started and not decided
	window    int           // most probes in flight (0: no limit)
	adaptive  bool          // RateMax: window follows the drop counters
	calm      time.Time     // last window change
	links     []*linkState  // every open link
	routes    map[netip.Addr]*routeResult
	stats     Stats
	dropsRead time.Time

	ports map[netip.Addr]*portPool
	slab  probeSlab
}

// New returns a Prober for cfg.
func New(cfg Config) (*Prober, error) {
	if err := cfg.Profile.Schedule.Validate(); err != nil {
		return nil, fmt.Errorf("profile %s: %w", cfg.Profile.Name, err)
	}
	p := &Prober{cfg: cfg, net: cfg.Network, now: cfg.Now}
	if p.net == nil {
		p.net = Host{}
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.cfg.TTL == 0 {
		p.cfg.TTL = 64
	}
	if p.cfg.Window == 0 {
		p.cfg.Window = 64240
	}
	p.open = map[int]*linkState{}
	p.neigh = map[neighKey]*neighResult{}
	return p, nil
}

// Close stops receiving and closes every link the Prober opened.
func (p *Prober) Close() error {
	p.mu.Lock()
	stop := p.recvStop
	p.recvStop = nil
	links := p.links
	p.links, p.open = nil, map[int]*linkState{}
	p.mu.Unlock()
	if stop != nil {
		stop()
	}
	var first error
	for _, l := range links {
		if err := l.link.Close(); err != nil && first == nil {
			first = err
		}
	}
	p.recvWG.Wait()
	return first
}

// Stats returns the counters of packets no probe could use.
func (p *Prober) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// EnvError is a failure of the environment rather than of a probe: no
// permission to open raw sockets, an interface that cannot be used.
// Nothing was sent. Fallback says the kernel's own connect(2) could still
// probe the targets (raw sockets are what this host refuses).
type EnvError struct {
	Err      error
	Fallback bool
}

func (e *EnvError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *EnvError) Unwrap() error { return e.Err }

// planned is a target with its route, before its probe starts. The target
// and route are pointers: a sweep plans 65,535 targets to one destination,
// which share one route.
type planned struct {
	t  *Target
	rt *routeResult
	i  int // t's index in Run's targets
}

// RateMax asks for the fastest rate at which every answer is still caught:
// the Prober keeps an adaptive window of probes in flight and halves it
// when the kernel reports dropped replies (PACKET_STATISTICS). Rate 0 means
// the same.
const RateMax = -1

// Window bounds of RateMax: the number of probes in flight starts at
// windowStart and moves between windowMin and windowMax.
const (
	windowStart = 4096
	windowMin   = 64
	windowMax   = 1 << 16
)

// sweepRecvBuffer is the receive buffer a Prober asks for on each link: at
// about 1 KiB of kernel memory per queued reply it holds more replies than
// windowMax probes can provoke at once.
const sweepRecvBuffer = 64 << 20

// maxReprobes is how often a probe that timed out while the kernel dropped
// replies is run again before its timeout stands (with a note).
const maxReprobes = 2

// WhyReceiveDrops is the Why of the event added to a result that timed out
// while the kernel was dropping received packets: its answer may be lost.
const WhyReceiveDrops = "receive-drops"

// Run probes every target and calls emit, from one goroutine, with each
// result as it is decided. It returns when every target has a result. When
// ctx is cancelled, probes in flight end as interrupted, targets not yet
// started are reported interrupted too, and Run returns ctx.Err(). An
// *EnvError means the probing could not start at all.
func (p *Prober) Run(ctx context.Context, targets []Target, emit func(*Result)) error {
	p.mu.Lock()
	p.probes = nil // made with the slab, below
	p.finished = nil
	p.inflight = 0
	p.timers = p.timers[:0]
	// A next hop that did not answer is asked again in a new Run; one that
	// did is remembered, so later rounds need no privilege to reach it.
	for k, nr := range p.neigh {
		select {
		case <-nr.done:
			if nr.err != nil {
				delete(p.neigh, k)
			}
		default:
		}
	}
	p.mu.Unlock()
	p.wake = make(chan struct{}, 1)
	p.ready = make(chan struct{}, 1)
	p.slot = make(chan struct{}, runtime.GOMAXPROCS(0))
	p.ports = map[netip.Addr]*portPool{}
	p.routes = nil // each Run asks the kernel afresh, as each connect() would
	p.base = p.now()
	p.window = p.cfg.Concurrency
	if p.cfg.Rate <= 0 {
		p.adaptive = true
		p.window = windowStart
		if p.cfg.Concurrency > 0 {
			p.window = min(windowStart, p.cfg.Concurrency)
		}
	}
	defer p.releasePorts()

	// The probes' memory (states, demultiplexer) is made and faulted in
	// while routes are looked up and links set up, which mostly wait on
	// the kernel.
	type mem struct {
		slab   []probeState
		probes map[demuxKey]*entry
	}
	memc := make(chan mem, 1)
	go func() { memc <- mem{newSlab(len(targets)), make(map[demuxKey]*entry, len(targets))} }()

	// Routes first: they tell which links to open and which addresses the
	// links' filters must pass.
	plan := make([]planned, len(targets))
	addrs := map[int][]netip.Addr{}
	ifis := map[int]net.Interface{}
	var last *routeResult
	for i := range targets {
		t := &targets[i]
		// Consecutive targets mostly share an address (HOST -p PORTS):
		// only a new address costs a lookup and a filter check.
		if last != nil && last.r.Dst == t.Addr.Addr() && last.err == nil {
			plan[i] = planned{t: t, rt: last, i: i}
			continue
		}
		rt := p.route(t.Addr.Addr())
		plan[i] = planned{t: t, rt: rt, i: i}
		last = rt
		if rt.err != nil {
			continue
		}
		r := &rt.r
		if r.Local {
			if err := rawsock.CheckLoopback(r.Dst); err != nil {
				return &EnvError{Err: err, Fallback: true}
			}
		}
		idx := r.Interface.Index
		ifis[idx] = r.Interface
		if !containsAddr(addrs[idx], r.Src) {
			addrs[idx] = append(addrs[idx], r.Src)
		}
	}
	hops := p.startNextHops(ctx)
	links, err := p.openLinks(ifis, addrs, len(targets) < ringProbes)
	if err != nil {
		return err
	}
	if err := p.becomeReady(ctx, hops); err != nil {
		return err
	}

	m := <-memc
	p.mu.Lock()
	p.slab, p.probes = probeSlab{s: m.slab}, m.probes
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.slab = probeSlab{}
		p.mu.Unlock()
	}()
	tctx, stopTimers := context.WithCancel(context.Background())
	var timerDone sync.WaitGroup
	timerDone.Add(1)
	go func() { defer timerDone.Done(); p.timerLoop(tctx) }()
	defer func() { stopTimers(); timerDone.Wait() }()

	// Launch probes, paced and bounded, while results flow out.
	var launched sync.WaitGroup
	launchDone := make(chan struct{})
	go func() {
		defer close(launchDone)
		p.launch(ctx, plan, links, &launched)
	}()

	remaining := len(targets)
	interrupted := false
	var out []*Result
	for remaining > 0 {
		p.mu.Lock()
		out, p.finished = p.finished, out[:0]
		p.mu.Unlock()
		for i, r := range out {
			emit(r)
			out[i] = nil
			remaining--
		}
		if remaining == 0 {
			break
		}
		if len(out) > 0 && p.cfg.Drained != nil {
			select {
			case <-p.ready:
				continue
			default:
				p.cfg.Drained()
			}
		}
		select {
		case <-p.ready:
		case <-ctx.Done():
			if !interrupted {
				interrupted = true
				go p.interruptAll()
			}
			<-p.ready
		}
	}
	if p.cfg.Drained != nil {
		p.cfg.Drained()
	}
	<-launchDone
	launched.Wait()
	p.mu.Lock()
	p.readDrops(true)
	p.mu.Unlock()
	if interrupted {
		return ctx.Err()
	}
	return nil
}

// ringProbes is the smallest Run whose new links read replies through a
// receive ring: setting one up waits for an RCU grace period and closing it
// for two more (about 8 and 16 ms here), which a few hundred probes do not
// win back. A link keeps its kind for the Prober's life.
const ringProbes = 1024

// openLinks returns a link for every interface in ifis whose filter passes
// addrs, opening those the Prober does not have yet (reading the socket
// queue, not a ring, when queue is set).
func (p *Prober) openLinks(ifis map[int]net.Interface, addrs map[int][]netip.Addr, queue bool) (map[int]*linkState, error) {
	links := map[int]*linkState{}
	for idx, ifi := range ifis {
		p.mu.Lock()
		ls := p.open[idx]
		p.mu.Unlock()
		if ls != nil && ls.covers(addrs[idx]) {
			links[idx] = ls
			continue
		}
		ifi := ifi
		l, err := p.net.OpenLink(&ifi, rawsock.LinkConfig{Addrs: addrs[idx], RecvBuffer: sweepRecvBuffer, SocketQueue: queue})
		if err != nil {
			return nil, &EnvError{Err: err}
		}
		ls = &linkState{link: l, ifi: ifi, addrs: addrs[idx]}
		ls.batch, _ = l.(BatchLink)
		ls.stats, _ = l.(StatsLink)
		p.mu.Lock()
		if p.recvStop == nil {
			var rctx context.Context
			rctx, p.recvStop = context.WithCancel(context.Background())
			p.recvCtx = rctx
		}
		rctx := p.recvCtx
		p.open[idx] = ls
		p.links = append(p.links, ls)
		p.recvWG.Add(1)
		p.mu.Unlock()
		go func() {
			defer p.recvWG.Done()
			p.receive(rctx, ls)
		}()
		links[idx] = ls
	}
	return links, nil
}

// receive runs a link's read loop until rctx ends. A read error that the
// link survives (the interface went down and up) restarts the loop after a
// pause; the error is counted.
func (p *Prober) receive(rctx context.Context, ls *linkState) {
	br, _ := ls.link.(BatchReceiver)
	var rx rxBatch
	onPackets := func(pkts [][]byte, infos []rawsock.RecvInfo) { p.onPackets(&rx, pkts, infos) }
	for rctx.Err() == nil {
		var err error
		if br != nil {
			err = br.ReceiveBatch(rctx, onPackets)
		} else {
			err = ls.link.Receive(rctx, func(pkt []byte, info rawsock.RecvInfo) { p.onPacket(&rx, pkt, info) })
		}
		if err == nil || rctx.Err() != nil {
			return
		}
		p.mu.Lock()
		p.stats.ReceiveErrors++
		p.mu.Unlock()
		select {
		case <-rctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// startNextHops starts resolving the next hop of every route of this Run
// (each destination address has one) and returns them, so they resolve
// while the links are set up; only before Config.Ready, which waits for
// them. Otherwise the launch starts each as it comes to it.
func (p *Prober) startNextHops(ctx context.Context) []*neighResult {
	if p.cfg.Ready == nil || p.readyDone {
		return nil
	}
	var hops []*neighResult
	seen := map[*neighResult]bool{}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rt := range p.routes {
		if rt.err != nil {
			continue
		}
		if nr, _ := p.nextHopReady(ctx, rt.r); !seen[nr] {
			seen[nr] = true
			hops = append(hops, nr)
		}
	}
	return hops
}

// becomeReady calls Config.Ready once in the Prober's life, once the next
// hops of the first Run (hops, from startNextHops) are resolved: the last
// step that needs privilege.
func (p *Prober) becomeReady(ctx context.Context, hops []*neighResult) error {
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
	if err := p.cfg.Ready(); err != nil {
		return &EnvError{Err: err}
	}
	return nil
}

// route looks up the route to dst, once per destination address and Run.
func (p *Prober) route(dst netip.Addr) *routeResult {
	if p.routes == nil {
		p.routes = map[netip.Addr]*routeResult{}
	}
	if rt, ok := p.routes[dst]; ok {
		return rt
	}
	r, err := p.net.RouteTo(dst, rawsock.RouteOptions{Interface: p.cfg.Interface, Source: p.cfg.Source})
	rt := &routeResult{r: r, err: err}
	p.routes[dst] = rt
	return rt
}

type routeResult struct {
	r   rawsock.Route
	err error
	nr  *neighResult // its next hop once resolved, so a sweep looks it up once; p.mu
}

func containsAddr(s []netip.Addr, a netip.Addr) bool {
	for _, x := range s {
		if x == a {
			return true
		}
	}
	return false
}

// deliver queues a decided result for Run's emit loop; p.mu is held. The
// queue is unbounded so the receive loop never waits on the output.
func (p *Prober) deliver(r *Result) {
	p.finished = append(p.finished, r)
	select {
	case p.ready <- struct{}{}:
	default:
	}
}

// deliverUnlocked is deliver for callers without p.mu.
func (p *Prober) deliverUnlocked(r *Result) {
	p.mu.Lock()
	p.deliver(r)
	p.mu.Unlock()
}

// launch starts every planned probe, honouring Rate (a token bucket) and
// the window of probes in flight (Concurrency, or the adaptive window of
// RateMax), and sends first SYNs in batches from GOMAXPROCS-1 workers: on
// a veth path each send carries the packet through the peers' stacks
// inside the system call, so parallel senders use every CPU. With
// UseSweepProcs one sender more than CPUs keeps every CPU busy while a
// sender is between calls, and one P is left for the rest. A
// target whose probe cannot start gets its local-error result here; one
// whose next hop is still being resolved starts from its own goroutine
// once it is.
func (p *Prober) launch(ctx context.Context, plan []planned, links map[int]*linkState, wg *sync.WaitGroup) {
	l := &launcher{p: p, plan: plan, links: links, wg: wg}
	l.pace.init(p.cfg.Rate, p.now())
	// Senders hold their P through each sendmmsg (rawsock.WriteIPBatch):
	// one P stays free for the receive loop, the timers and the output.
	workers := min(max(1, runtime.GOMAXPROCS(0)-1), (len(plan)+rawsock.MaxBatch-1)/rawsock.MaxBatch)
	var all sync.WaitGroup
	for w := 0; w < workers; w++ {
		all.Add(1)
		go func() { defer all.Done(); l.work(ctx) }()
	}
	all.Wait()
}

// launcher is the state the launch workers share.
type launcher struct {
	p     *Prober
	plan  []planned
	links map[int]*linkState
	wg    *sync.WaitGroup
	next  int // first plan entry not taken; p.mu
	pmu   sync.Mutex
	pace  pacer // pmu
}

// work takes up to a batch of plan entries at a time and starts them.
func (l *launcher) work(ctx context.Context) {
	p := l.p
	sb := newSendBatch(p)
	for {
		p.mu.Lock()
		if l.next >= len(l.plan) {
			p.mu.Unlock()
			return
		}
		if ctx.Err() != nil {
			for ; l.next < len(l.plan); l.next++ {
				p.deliver(p.localResult(&l.plan[l.next], Interrupted, syscall.EINTR, ReasonInterrupted))
			}
			p.mu.Unlock()
			return
		}
		n := rawsock.MaxBatch
		if p.window > 0 {
			n = min(n, p.window-p.inflight)
		}
		p.mu.Unlock()
		if n <= 0 {
			select {
			case <-p.slot:
			case <-ctx.Done():
			case <-time.After(time.Millisecond): // re-read drops, window
				p.mu.Lock()
				p.readDrops(false)
				p.mu.Unlock()
			}
			continue
		}
		l.pmu.Lock()
		n = l.pace.take(ctx, n, p.now)
		l.pmu.Unlock()
		if n == 0 {
			continue
		}
		p.mu.Lock()
		if ctx.Err() != nil {
			p.mu.Unlock()
			continue
		}
		now := p.now()
		end := min(len(l.plan), l.next+n)
		for ; l.next < end; l.next++ {
			l.start(ctx, &l.plan[l.next], sb, now)
		}
		p.readDrops(false)
		p.mu.Unlock()
		sb.flush()
	}
}

// start starts one probe from the launch loop; p.mu is held.
func (l *launcher) start(ctx context.Context, pl *planned, sb *sendBatch, now time.Time) {
	p := l.p
	if pl.rt.err != nil {
		p.deliver(p.routeFailure(pl))
		return
	}
	ls := l.links[pl.rt.r.Interface.Index]
	nr, ready := pl.rt.nr, pl.rt.nr != nil
	if !ready {
		if nr, ready = p.nextHopReady(ctx, pl.rt.r); ready {
			pl.rt.nr = nr
		}
	}
	if !ready {
		p.inflight++
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			p.startSlow(ctx, pl, ls)
		}()
		return
	}
	if nr.err != nil {
		p.deliver(p.neighborFailure(pl, nr))
		return
	}
	e, err := p.register(pl, ls, nr.mac)
	if err != nil {
		p.deliver(p.localResult(pl, LocalError, syscall.EADDRNOTAVAIL, ReasonLocal))
		return
	}
	p.inflight++
	e.m.Start(now)
	p.schedule(e)
	sb.add(e, wire.SYN, e.m.ISS())
}

// register creates the probe's entry and puts it in the demultiplexer;
// p.mu is held.
func (p *Prober) register(pl *planned, ls *linkState, mac net.HardwareAddr) (*entry, error) {
	local, err := p.localPortLocked(pl)
	if err != nil {
		return nil, err
	}
	e := p.slab.take(p.profileOf(pl.t), local, pl.t.Addr, randomISS())
	e.link = ls
	if len(mac) == 6 {
		e.hasMAC = true
		copy(e.mac[:], mac)
	}
	e.key = tuple{local: local.Addr(), remote: pl.t.Addr.Addr(), lport: local.Port(), rport: pl.t.Addr.Port()}
	e.dropsAt = ls.drops
	res := e.m.Result()
	res.Target, res.Index, res.Interface, res.Expect = pl.t.Name, pl.i, ls.ifi.Name, pl.t.Expect
	p.probes[e.key.demux()] = e
	return e, nil
}

// startSlow starts one probe whose next hop was not resolved yet, from its
// own goroutine; the probe already counts as in flight.
func (p *Prober) startSlow(ctx context.Context, pl *planned, ls *linkState) {
	nr, err := p.nextHop(ctx, pl.rt.r)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil || ctx.Err() != nil {
		p.release()
		p.deliver(p.localResult(pl, Interrupted, syscall.EINTR, ReasonInterrupted))
		return
	}
	if nr.err != nil {
		p.release()
		p.deliver(p.neighborFailure(pl, nr))
		return
	}
	e, err := p.register(pl, ls, nr.mac)
	if err != nil {
		p.release()
		p.deliver(p.localResult(pl, LocalError, syscall.EADDRNOTAVAIL, ReasonLocal))
		return
	}
	e.m.Start(p.now())
	p.schedule(e)
	var buf [wire.MaxSegmentLen]byte
	p.sendLocked(e, wire.SYN, e.m.ISS(), buf[:])
}

// release frees one place in the window; p.mu is held.
func (p *Prober) release() {
	p.inflight--
	select {
	case p.slot <- struct{}{}:
	default:
	}
}

// readDrops reads the kernel's drop counters of every link (at most every
// millisecond unless force) and, under RateMax, halves the window when they
// rose or widens it when they did not for a while; p.mu is held.
func (p *Prober) readDrops(force bool) {
	now := p.now()
	if !force && now.Sub(p.dropsRead) < time.Millisecond {
		return
	}
	p.dropsRead = now
	rose := false
	for _, ls := range p.links {
		if ls.stats == nil {
			continue
		}
		s, err := ls.stats.Stats()
		if err != nil {
			continue
		}
		if s.Dropped > ls.drops {
			rose = true
			p.stats.Dropped += s.Dropped - ls.drops
			ls.drops = s.Dropped
		}
	}
	if !p.adaptive {
		return
	}
	switch {
	case rose:
		p.window = max(windowMin, p.window/2)
		p.calm = now
	case now.Sub(p.calm) > 50*time.Millisecond && p.window < windowMax:
		if p.cfg.Concurrency == 0 || p.window < p.cfg.Concurrency {
			p.window += p.window / 4
		}
		p.calm = now
	}
}

// routeFailure is the result for a target the kernel would not route:
// connect(2) fails before a packet leaves (spec §4).
func (p *Prober) routeFailure(pl *planned) *Result {
	var re *rawsock.RouteError
	if errors.As(pl.rt.err, &re) {
		reason := ReasonLocal
		switch re.Errno {
		case syscall.ENETUNREACH:
			reason = ReasonNoRoute
		case syscall.EHOSTUNREACH:
			reason = ReasonRouteUnreach
		case syscall.EACCES:
			reason = ReasonRouteProhibit
		case syscall.EINVAL:
			reason = ReasonRouteBlackhol
		}
		return p.localResult(pl, LocalError, re.Errno, reason)
	}
	var errno syscall.Errno
	if !errors.As(pl.rt.err, &errno) {
		errno = syscall.EINVAL
	}
	return p.localResult(pl, LocalError, errno, ReasonLocal)
}

func (p *Prober) localResult(pl *planned, o Outcome, errno syscall.Errno, reason string) *Result {
	now := p.now()
	r := &Result{
		Target: pl.t.Name, Index: pl.i, Addr: pl.t.Addr.Addr(), Port: pl.t.Addr.Port(),
		Interface: pl.rt.r.Interface.Name, Src: pl.rt.r.Src,
		Profile: p.profileOf(pl.t).Name, Schedule: p.profileOf(pl.t).Schedule, ICMP: p.profileOf(pl.t).ICMP,
		Outcome: o, Errno: errno, Reason: reason, Started: now, Finished: now, Expect: pl.t.Expect,
	}
	return r
}

type neighKey struct {
	ifindex int
	addr    netip.Addr
}

type neighResult struct {
	done              chan struct{}
	mac               net.HardwareAddr
	err               error
	started, finished time.Time // the resolution's own span
}

// neighborFailure is the result for a target whose next hop never
// answered: decided locally, over the time the resolution took (the
// kernel's connect(2) fails with EHOSTUNREACH after the same wait).
func (p *Prober) neighborFailure(pl *planned, nr *neighResult) *Result {
	r := p.localResult(pl, LocalError, syscall.EHOSTUNREACH, ReasonNeighbor)
	r.Started, r.Finished = nr.started, nr.finished
	return r
}

// nextHopReady returns the route's next hop if it is known; if it is not,
// it starts resolving it in the background and reports ready false; p.mu is
// held.
func (p *Prober) nextHopReady(ctx context.Context, r rawsock.Route) (*neighResult, bool) {
	k := neighKey{r.Interface.Index, r.NextHop}
	nr, ok := p.neigh[k]
	if !ok {
		nr = &neighResult{done: make(chan struct{}), started: p.now()}
		p.neigh[k] = nr
		go func() {
			nr.mac, nr.err = p.net.ResolveNeighbor(ctx, r)
			nr.finished = p.now()
			close(nr.done)
		}()
	}
	select {
	case <-nr.done:
		return nr, true
	default:
		return nr, false
	}
}

// nextHop waits for the route's next hop, resolved once per run; the error
// is the context's.
func (p *Prober) nextHop(ctx context.Context, r rawsock.Route) (*neighResult, error) {
	k := neighKey{r.Interface.Index, r.NextHop}
	p.mu.Lock()
	nr := p.neigh[k]
	p.mu.Unlock()
	select {
	case <-nr.done:
		return nr, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// localPortLocked picks the probe's source address and port; p.mu is held.
func (p *Prober) localPortLocked(pl *planned) (netip.AddrPort, error) {
	src := pl.rt.r.Src
	if p.cfg.SourcePort != 0 {
		return netip.AddrPortFrom(src, p.cfg.SourcePort), nil
	}
	pool := p.ports[src]
	if pool == nil {
		pool = &portPool{}
		p.ports[src] = pool
	}
	key := func(port uint16) tuple {
		return tuple{local: src, remote: pl.t.Addr.Addr(), lport: port, rport: pl.t.Addr.Port()}
	}
	for _, port := range pool.ports {
		// p.probes keeps every 4-tuple of the run: it is the used set.
		if _, used := p.probes[key(port).demux()]; !used {
			return netip.AddrPortFrom(src, port), nil
		}
	}
	port, release, err := p.net.ReservePort(src)
	if err != nil {
		return netip.AddrPort{}, err
	}
	pool.ports = append(pool.ports, port)
	pool.release = append(pool.release, release)
	return netip.AddrPortFrom(src, port), nil
}

// portPool is the source ports held for one local address. A port is
// shared by probes to different destinations; the same 4-tuple is never
// used twice in a run, so a late reply cannot reach a newer probe.
type portPool struct {
	ports   []uint16
	release []func()
}

func (p *Prober) releasePorts() {
	for _, pool := range p.ports {
		for _, r := range pool.release {
			r()
		}
	}
}

// issPool hands out ISSs from crypto/rand read 1 KiB at a time: one
// getrandom(2) per 256 probes instead of one each.
var issPool struct {
	sync.Mutex
	buf [1024]byte
	off int
}

func randomISS() uint32 {
	issPool.Lock()
	defer issPool.Unlock()
	if issPool.off == 0 || issPool.off >= len(issPool.buf) {
		if _, err := rand.Read(issPool.buf[:]); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		issPool.off = 0
	}
	v := binary.BigEndian.Uint32(issPool.buf[issPool.off:])
	issPool.off += 4
	return v
}

// perform sends what a Machine asked for and, when it is done, finishes
// the probe. It runs without p.mu held; iss is the Machine's ISS read under
// it.
func (p *Prober) perform(e *entry, out Output, iss uint32, buf []byte) {
	if out.SendSYN {
		p.send(e, wire.SYN, iss, out.Done, buf)
	}
	if out.SendRST {
		p.send(e, wire.RST, out.RSTSeq, out.Done, buf)
	}
	if out.Done {
		p.mu.Lock()
		again := p.finishLocked(e)
		iss = e.m.ISS()
		p.mu.Unlock()
		if again {
			p.send(e, wire.SYN, iss, false, buf)
		}
	}
}

// finishLocked hands a decided probe's result on, or, when the probe gave
// up while the kernel dropped received packets (its answer may be among
// them), runs it again with a new ISS and reports true: the caller sends
// the new first SYN. p.mu is held.
func (p *Prober) finishLocked(e *entry) (again bool) {
	res := e.m.Result()
	if res.Reason == ReasonTimeout || res.Soft {
		p.readDrops(true)
		if e.link.drops > e.dropsAt {
			lost := e.link.drops - e.dropsAt
			if e.reprobes < maxReprobes {
				e.reprobes++
				p.stats.Reprobed++
				local := netip.AddrPortFrom(e.key.local, e.key.lport)
				m := NewMachine(e.m.prof, local, netip.AddrPortFrom(e.key.remote, e.key.rport), randomISS())
				r := m.Result()
				r.Target, r.Index, r.Interface, r.Expect = res.Target, res.Index, res.Interface, res.Expect
				e.m = m
				e.dropsAt = e.link.drops
				e.m.Start(p.now())
				p.schedule(e)
				return true
			}
			p.stats.Unsure++
			res.Events = append(res.Events, Event{Time: res.Finished, Dir: Received, Effect: EffectIgnored,
				Why: fmt.Sprintf("%s: the kernel dropped %d received packets on %s while this probe waited; its answer may be among them", WhyReceiveDrops, lost, e.link.ifi.Name)})
		}
	}
	p.release()
	p.deliver(res)
	return false
}

// send encodes and writes one segment of e's 4-tuple. A failure is
// recorded in the result unless the result has already been handed on.
func (p *Prober) send(e *entry, flags wire.Flags, seq uint32, deciding bool, buf []byte) {
	n, err := p.encode(e, flags, seq, buf)
	if err == nil {
		err = e.link.link.WriteIP(buf[:n], e.nextHop())
	}
	if err != nil {
		p.mu.Lock()
		p.sendFailedLocked(e, flags, seq, deciding, err)
		p.mu.Unlock()
	}
}

func (p *Prober) encode(e *entry, flags wire.Flags, seq uint32, buf []byte) (int, error) {
	spec := wire.SegmentSpec{
		Src: e.key.local, Dst: e.key.remote, TTL: p.cfg.TTL,
		SrcPort: e.key.lport, DstPort: e.key.rport, Seq: seq, Flags: flags,
	}
	if flags == wire.SYN {
		spec.Window = p.cfg.Window
		spec.Options = p.cfg.Options
		if spec.Options.HasTimestamps {
			spec.Options.TSVal = uint32(p.now().UnixMilli())
		}
	}
	return wire.EncodeSegment(buf, &spec)
}

// sendFailedLocked records a failed send in e's result; p.mu is held.
func (p *Prober) sendFailedLocked(e *entry, flags wire.Flags, seq uint32, deciding bool, err error) {
	if deciding || !e.m.Done() {
		res := e.m.Result()
		res.Events = append(res.Events, Event{Time: p.now(), Dir: Sent, Flags: flags, Seq: seq, Effect: EffectIgnored, Why: "send-failed: " + err.Error()})
		// Attempts are SYNs that left; this one did not.
		if flags == wire.SYN && len(res.Attempts) > 0 {
			res.Attempts = res.Attempts[:len(res.Attempts)-1]
		}
	}
}

// sendBatch collects SYNs encoded under p.mu and writes them after it is
// released, in sendmmsg batches where the link can.
type sendBatch struct {
	p    *Prober
	bufs [][]byte
	pkts [][]byte
	macs []net.HardwareAddr
	ents []*entry
	seqs []uint32
	// reroute asks the kernel again, once per destination and flush,
	// whether it would still send there: a retransmission does not leave
	// when the route has since become unreachable, prohibit, blackhole or
	// gone, just as the kernel's own retransmission would not.
	reroute bool
	routes  map[netip.Addr]error
}

func newSendBatch(p *Prober) *sendBatch { return &sendBatch{p: p} }

// add encodes e's SYN with seq into the batch; p.mu is held.
func (b *sendBatch) add(e *entry, flags wire.Flags, seq uint32) {
	i := len(b.pkts)
	if i == len(b.bufs) {
		b.bufs = append(b.bufs, make([]byte, wire.MaxSegmentLen))
	}
	n, err := b.p.encode(e, flags, seq, b.bufs[i])
	if err != nil {
		b.p.sendFailedLocked(e, flags, seq, false, err)
		return
	}
	b.pkts = append(b.pkts, b.bufs[i][:n])
	b.macs = append(b.macs, e.nextHop())
	b.ents = append(b.ents, e)
	b.seqs = append(b.seqs, seq)
}

// flush writes the batch; p.mu is not held.
func (b *sendBatch) flush() {
	if b.reroute && len(b.pkts) > 0 {
		b.dropUnroutable()
	}
	for a := 0; a < len(b.pkts); {
		ls := b.ents[a].link
		z := a + 1
		for z < len(b.pkts) && b.ents[z].link == ls {
			z++
		}
		done := 0
		if ls.batch != nil {
			done, _ = ls.batch.WriteIPBatch(b.pkts[a:z], b.macs[a:z])
		}
		for i := a + done; i < z; i++ { // one by one, so a failure lands on its probe
			if err := ls.link.WriteIP(b.pkts[i], b.macs[i]); err != nil {
				b.p.mu.Lock()
				b.p.sendFailedLocked(b.ents[i], wire.SYN, b.seqs[i], false, err)
				b.p.mu.Unlock()
			}
		}
		a = z
	}
	clear(b.ents)
	b.pkts, b.macs, b.ents, b.seqs = b.pkts[:0], b.macs[:0], b.ents[:0], b.seqs[:0]
}

// dropUnroutable removes from the batch every segment whose destination
// the kernel would no longer send to, recording the failure on its probe.
func (b *sendBatch) dropUnroutable() {
	clear(b.routes)
	if b.routes == nil {
		b.routes = map[netip.Addr]error{}
	}
	p := b.p
	keep := 0
	for i, e := range b.ents {
		err, ok := b.routes[e.key.remote]
		if !ok {
			_, err = p.net.RouteTo(e.key.remote, rawsock.RouteOptions{Interface: p.cfg.Interface, Source: p.cfg.Source})
			b.routes[e.key.remote] = err
		}
		if err != nil {
			p.mu.Lock()
			p.sendFailedLocked(e, wire.SYN, b.seqs[i], false, err)
			p.mu.Unlock()
			continue
		}
		b.pkts[keep], b.macs[keep], b.ents[keep], b.seqs[keep] = b.pkts[i], b.macs[i], e, b.seqs[i]
		keep++
	}
	clear(b.ents[keep:])
	b.pkts, b.macs, b.ents, b.seqs = b.pkts[:keep], b.macs[:keep], b.ents[:keep], b.seqs[:keep]
}

// onPacket is the receive path for one packet: onPackets with a group of
// one.
func (p *Prober) onPacket(rx *rxBatch, pkt []byte, info rawsock.RecvInfo) {
	rx.one[0], rx.oneInfo[0] = pkt, info
	p.onPackets(rx, rx.one[:], rx.oneInfo[:])
	rx.one[0] = nil
}

// rxBatch is the receive loop's scratch for one group of packets: each
// parsed outside p.mu, then all handled under one lock, then what they ask
// to send sent after it.
type rxBatch struct {
	pkts    []rxPacket
	actions []rxAction
	one     [1][]byte // onPacket's group of one
	oneInfo [1]rawsock.RecvInfo
}

type rxPacket struct {
	key  tuple
	icmp bool
	tcp  TCPInfo
	seg  wire.Segment
	in   ICMPInfo
	msg  icmp.Message
	at   time.Time
}

// rxAction is a send a packet of the group asked for: a Machine's Output
// (perform), or only a new first SYN for a probe run again (again).
type rxAction struct {
	e     *entry
	out   Output
	iss   uint32
	again bool
}

// onPackets is the receive path: parse each packet, find its probe by
// 4-tuple (an ICMP error by the 4-tuple it quotes), and let the probes'
// Machines decide, in order, under one hold of p.mu; the sends they ask
// for go out after it is released.
func (p *Prober) onPackets(rx *rxBatch, pkts [][]byte, infos []rawsock.RecvInfo) {
	if cap(rx.pkts) < len(pkts) {
		rx.pkts = make([]rxPacket, 0, len(pkts))
	}
	rx.pkts = rx.pkts[:0]
	var malformed, unmatched uint64
	for i, pkt := range pkts {
		info := infos[i]
		var ip wire.IPInfo
		payload, err := wire.ParseIP(pkt, &ip)
		if err != nil || (ip.Fragment && !ip.FirstFragment) {
			malformed++
			continue
		}
		switch {
		case ip.Protocol == 6:
			rx.pkts = append(rx.pkts, rxPacket{})
			rp := &rx.pkts[len(rx.pkts)-1]
			if err := wire.ParseTCP(payload, &rp.seg); err != nil {
				rx.pkts = rx.pkts[:len(rx.pkts)-1]
				malformed++
				continue
			}
			ok := info.ChecksumNotReady || wire.TCPChecksumValid(ip.Src, ip.Dst, payload)
			rp.key = tuple{local: ip.Dst, remote: ip.Src, lport: rp.seg.DstPort, rport: rp.seg.SrcPort}
			rp.tcp = TCPInfo{From: ip.Src, TTL: ip.TTL, ChecksumOK: ok}
			rp.at = info.Time
		case (ip.Version == 4 && ip.Protocol == 1) || (ip.Version == 6 && ip.Protocol == 58):
			rx.pkts = append(rx.pkts, rxPacket{icmp: true})
			rp := &rx.pkts[len(rx.pkts)-1]
			v6 := ip.Version == 6
			err := icmp.Parse(payload, v6, ip.Src, ip.Dst, !info.ChecksumNotReady, &rp.msg)
			ok := true
			if errors.Is(err, icmp.ErrChecksum) {
				// Read the quote anyway so the probe it names can count it.
				ok = false
				rp.msg = icmp.Message{}
				err = icmp.Parse(payload, v6, ip.Src, ip.Dst, false, &rp.msg)
			}
			if err != nil {
				rx.pkts = rx.pkts[:len(rx.pkts)-1]
				if !errors.Is(err, icmp.ErrNotError) {
					malformed++
				}
				continue
			}
			q := &rp.msg.Quote
			rp.key = tuple{local: q.Src, remote: q.Dst, lport: q.SrcPort, rport: q.DstPort}
			rp.in = ICMPInfo{From: ip.Src, TTL: ip.TTL, ChecksumOK: ok}
			rp.at = info.Time
		default:
			unmatched++
		}
	}
	rx.actions = rx.actions[:0]
	p.mu.Lock()
	p.stats.Malformed += malformed
	p.stats.Unmatched += unmatched
	for i := range rx.pkts {
		rp := &rx.pkts[i]
		e := p.probes[rp.key.demux()]
		if e == nil {
			p.stats.Unmatched++
			continue
		}
		var out Output
		if rp.icmp {
			rp.in.Msg = &rp.msg
			out = e.m.HandleICMP(rp.in, rp.at)
		} else {
			rp.tcp.Seg = &rp.seg
			out = e.m.HandleTCP(rp.tcp, rp.at)
		}
		// As step does, under the lock already held.
		p.settle(e, out)
		if out.Done && !out.SendSYN && !out.SendRST {
			if p.finishLocked(e) {
				rx.actions = append(rx.actions, rxAction{e: e, iss: e.m.ISS(), again: true})
			}
			continue
		}
		if out.SendSYN || out.SendRST || out.Done {
			rx.actions = append(rx.actions, rxAction{e: e, out: out, iss: e.m.ISS()})
		}
	}
	p.mu.Unlock()
	var buf [wire.MaxSegmentLen]byte
	for i, a := range rx.actions {
		if a.again {
			p.send(a.e, wire.SYN, a.iss, false, buf[:])
		} else {
			p.perform(a.e, a.out, a.iss, buf[:])
		}
		rx.actions[i] = rxAction{}
	}
	clear(rx.pkts) // no pointers kept past the call
}

// step finishes a Machine step begun under p.mu, which it releases: a
// decision that sends nothing is settled at once, without a second lock.
func (p *Prober) step(e *entry, out Output) {
	p.settle(e, out)
	if out.Done && !out.SendSYN && !out.SendRST {
		again := p.finishLocked(e)
		iss := e.m.ISS()
		p.mu.Unlock()
		if again {
			var buf [wire.MaxSegmentLen]byte
			p.send(e, wire.SYN, iss, false, buf[:])
		}
		return
	}
	iss := e.m.ISS()
	p.mu.Unlock()
	if out.SendSYN || out.SendRST || out.Done {
		var buf [wire.MaxSegmentLen]byte
		p.perform(e, out, iss, buf[:])
	}
}

// sendLocked sends one segment with p.mu held (a probe started off the
// launch loop; rare).
func (p *Prober) sendLocked(e *entry, flags wire.Flags, seq uint32, buf []byte) {
	n, err := p.encode(e, flags, seq, buf)
	if err == nil {
		err = e.link.link.WriteIP(buf[:n], e.nextHop())
	}
	if err != nil {
		p.sendFailedLocked(e, flags, seq, false, err)
	}
}

func (p *Prober) count(c *uint64) {
	p.mu.Lock()
	*c++
	p.mu.Unlock()
}

// settle updates the timer heap after a Machine step; p.mu is held.
func (p *Prober) settle(e *entry, out Output) {
	if out.Done && e.hidx >= 0 {
		heap.Remove(&p.timers, int(e.hidx))
		return
	}
	p.schedule(e)
}

// schedule (re)places e in the timer heap at its Machine's deadline; p.mu
// is held.
func (p *Prober) schedule(e *entry) {
	d := e.m.Deadline()
	if d.IsZero() {
		if e.hidx >= 0 {
			heap.Remove(&p.timers, int(e.hidx))
		}
		return
	}
	due := int64(d.Sub(p.base))
	if e.hidx >= 0 {
		if due == e.due {
			return
		}
		e.due = due
		heap.Fix(&p.timers, int(e.hidx))
	} else {
		e.due = due
		heap.Push(&p.timers, e)
	}
	if p.timers[0] == e {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// timerLoop fires every probe's schedule from one heap and one timer;
// retransmitted SYNs leave in batches.
func (p *Prober) timerLoop(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var buf [wire.MaxSegmentLen]byte
	sb := newSendBatch(p)
	sb.reroute = true // retransmissions: the route may have changed
	type step struct {
		e   *entry
		out Output
		iss uint32
	}
	var due []step
	for {
		due = due[:0]
		p.mu.Lock()
		now := p.now()
		nowRel := int64(now.Sub(p.base))
		for len(p.timers) > 0 && p.timers[0].due <= nowRel {
			e := heap.Pop(&p.timers).(*entry)
			out := e.m.Tick(now)
			p.schedule(e)
			switch {
			case out.SendSYN && !out.Done && !out.SendRST:
				sb.add(e, wire.SYN, e.m.ISS())
			case out.Done && !out.SendSYN && !out.SendRST:
				if p.finishLocked(e) {
					sb.add(e, wire.SYN, e.m.ISS())
				}
			case out.SendSYN || out.SendRST || out.Done:
				due = append(due, step{e, out, e.m.ISS()})
			}
		}
		if p.adaptive {
			p.readDrops(false)
		}
		wait := time.Hour
		if len(p.timers) > 0 {
			wait = time.Duration(p.timers[0].due - nowRel)
		}
		p.mu.Unlock()
		sb.flush()
		for i, s := range due {
			p.perform(s.e, s.out, s.iss, buf[:])
			due[i] = step{}
		}
		t.Reset(wait)
		select {
		case <-t.C:
		case <-p.wake:
		case <-ctx.Done():
			return
		}
	}
}

// interruptAll ends every probe in flight as interrupted.
func (p *Prober) interruptAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for _, e := range p.probes {
		if out := e.m.Interrupt(now); out.Done {
			if e.hidx >= 0 {
				heap.Remove(&p.timers, int(e.hidx))
			}
			p.release()
			p.deliver(e.m.Result())
		}
	}
}

// timerHeap orders probes by their next deadline.
type timerHeap []*entry

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].due < h[j].due }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx = int32(i)
	h[j].hidx = int32(j)
}

func (h *timerHeap) Push(x any) {
	e := x.(*entry)
	e.hidx = int32(len(*h))
	*h = append(*h, e)
}

func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	e.hidx = -1
	*h = old[:n-1]
	return e
}

// pacer is a token bucket of new probes per second, refilled continuously;
// it lets bursts of up to one batch through so sends can be batched.
type pacer struct {
	rate   float64 // probes per second; 0 or less: no limit
	tokens float64
	last   time.Time
}

func (pc *pacer) init(rate float64, now time.Time) {
	pc.rate, pc.last, pc.tokens = rate, now, 1
}

// take returns how many of n probes may start now, at least one unless ctx
// ends, sleeping until then.
func (pc *pacer) take(ctx context.Context, n int, now func() time.Time) int {
	if pc.rate <= 0 {
		return n
	}
	burst := max(1, min(float64(rawsock.MaxBatch), pc.rate/1000)) // ≤ 1 ms of probes
	for {
		t := now()
		pc.tokens = min(burst, pc.tokens+t.Sub(pc.last).Seconds()*pc.rate)
		pc.last = t
		if pc.tokens >= 1 {
			k := min(n, int(pc.tokens))
			pc.tokens -= float64(k)
			return k
		}
		d := time.Duration((1 - pc.tokens) / pc.rate * float64(time.Second))
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return 0
		}
	}
}
