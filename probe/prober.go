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
	"sync"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/icmp"
	"github.com/tcpprobe/tcpprobe/probe/wire"
	"github.com/tcpprobe/tcpprobe/rawsock"
)

// Target is one address and port to probe.
type Target struct {
	Name   string // as the user gave it, for the report
	Addr   netip.AddrPort
	Expect string // an assertion the caller attaches; carried into the Result
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
	// Rate caps new probes per second (0: no cap). Retransmissions and
	// teardowns are not paced.
	Rate float64
	// Concurrency caps probes in flight (0: no cap beyond the targets).
	Concurrency int
	Network     Network          // nil: Host{}
	Now         func() time.Time // nil: time.Now
}

// DefaultOptions are the options Linux puts in a SYN on an Ethernet path:
// MSS 1460, SACK permitted, timestamps, window scale 7.
func DefaultOptions() wire.Options {
	return wire.Options{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true, HasWScale: true, WScale: 7}
}

// Stats counts what the Prober saw that no probe could use.
type Stats struct {
	Unmatched uint64 // well-formed packets for no probe of ours
	Malformed uint64 // packets that did not parse
}

// tuple is a probe's 4-tuple, from our side.
type tuple struct {
	local, remote netip.Addr
	lport, rport  uint16
}

// entry is one registered probe.
type entry struct {
	m      *Machine
	key    tuple
	link   *linkState
	mac    net.HardwareAddr
	hidx   int // index in the timer heap, -1 when not in it
	due    time.Time
	target Target
	sem    chan struct{} // released when the probe is decided
}

type linkState struct {
	link Link
	ifi  net.Interface
}

// Prober runs probes over shared raw links. A Prober is used for one Run.
type Prober struct {
	cfg Config
	net Network
	now func() time.Time

	mu      sync.Mutex
	probes  map[tuple]*entry
	timers  timerHeap
	wake    chan struct{}
	results chan *Result
	stats   Stats

	ports map[netip.Addr]*portPool
	used  map[tuple]struct{} // every 4-tuple handed out in this run
	neigh map[neighKey]*neighResult
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
	return p, nil
}

// Stats returns the counters of packets no probe could use.
func (p *Prober) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// EnvError is a failure of the environment rather than of a probe: no
// permission to open raw sockets, an interface that cannot be used.
type EnvError struct{ Err error }

func (e *EnvError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *EnvError) Unwrap() error { return e.Err }

// planned is a target with its route, before its probe starts.
type planned struct {
	t     Target
	route rawsock.Route
	err   error
}

// Run probes every target and calls emit, from one goroutine, with each
// result as it is decided. It returns when every target has a result. When
// ctx is cancelled, probes in flight end as interrupted, targets not yet
// started are reported interrupted too, and Run returns ctx.Err(). An
// *EnvError means the probing could not start at all.
func (p *Prober) Run(ctx context.Context, targets []Target, emit func(*Result)) error {
	p.probes = make(map[tuple]*entry, len(targets))
	p.wake = make(chan struct{}, 1)
	p.results = make(chan *Result, 64)
	p.ports = map[netip.Addr]*portPool{}
	p.used = map[tuple]struct{}{}
	p.neigh = map[neighKey]*neighResult{}
	defer p.releasePorts()

	// Routes first: they tell which links to open and which addresses the
	// links' filters must pass.
	plan := make([]planned, len(targets))
	addrs := map[int][]netip.Addr{}
	ifis := map[int]net.Interface{}
	for i, t := range targets {
		r, err := p.net.RouteTo(t.Addr.Addr(), rawsock.RouteOptions{Interface: p.cfg.Interface, Source: p.cfg.Source})
		plan[i] = planned{t: t, route: r, err: err}
		if err != nil {
			continue
		}
		idx := r.Interface.Index
		ifis[idx] = r.Interface
		if !containsAddr(addrs[idx], r.Src) {
			addrs[idx] = append(addrs[idx], r.Src)
		}
	}
	links := map[int]*linkState{}
	defer func() {
		for _, l := range links {
			l.link.Close()
		}
	}()
	rctx, stopRecv := context.WithCancel(context.Background())
	var recv sync.WaitGroup
	defer func() { stopRecv(); recv.Wait() }()
	for idx, ifi := range ifis {
		ifi := ifi
		l, err := p.net.OpenLink(&ifi, rawsock.LinkConfig{Addrs: addrs[idx]})
		if err != nil {
			return &EnvError{Err: err}
		}
		ls := &linkState{link: l, ifi: ifi}
		links[idx] = ls
		recv.Add(1)
		go func() {
			defer recv.Done()
			l.Receive(rctx, func(pkt []byte, info rawsock.RecvInfo) { p.onPacket(pkt, info) })
		}()
	}

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
	for remaining > 0 {
		select {
		case r := <-p.results:
			emit(r)
			remaining--
		case <-ctx.Done():
			if !interrupted {
				interrupted = true
				go p.interruptAll()
			}
			r := <-p.results
			emit(r)
			remaining--
		}
	}
	<-launchDone
	launched.Wait()
	if interrupted {
		return ctx.Err()
	}
	return nil
}

func containsAddr(s []netip.Addr, a netip.Addr) bool {
	for _, x := range s {
		if x == a {
			return true
		}
	}
	return false
}

// launch starts every planned probe, honouring Rate and Concurrency. A
// target whose probe cannot start gets its local-error result here.
func (p *Prober) launch(ctx context.Context, plan []planned, links map[int]*linkState, wg *sync.WaitGroup) {
	var sem chan struct{}
	if p.cfg.Concurrency > 0 {
		sem = make(chan struct{}, p.cfg.Concurrency)
	}
	var gap time.Duration
	if p.cfg.Rate > 0 {
		gap = time.Duration(float64(time.Second) / p.cfg.Rate)
	}
	next := p.now()
	for i := range plan {
		pl := &plan[i]
		if ctx.Err() != nil {
			p.results <- p.localResult(pl, Interrupted, syscall.EINTR, ReasonInterrupted)
			continue
		}
		if pl.err != nil {
			p.results <- p.routeFailure(pl)
			continue
		}
		if gap > 0 {
			if d := next.Sub(p.now()); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
			next = next.Add(gap)
		}
		if sem != nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				p.results <- p.localResult(pl, Interrupted, syscall.EINTR, ReasonInterrupted)
				continue
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.start(ctx, pl, links[pl.route.Interface.Index], sem)
		}()
	}
}

// routeFailure is the result for a target the kernel would not route:
// connect(2) fails before a packet leaves (spec §4).
func (p *Prober) routeFailure(pl *planned) *Result {
	var re *rawsock.RouteError
	if errors.As(pl.err, &re) {
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
	if !errors.As(pl.err, &errno) {
		errno = syscall.EINVAL
	}
	return p.localResult(pl, LocalError, errno, ReasonLocal)
}

func (p *Prober) localResult(pl *planned, o Outcome, errno syscall.Errno, reason string) *Result {
	now := p.now()
	r := &Result{
		Target: pl.t.Name, Addr: pl.t.Addr.Addr(), Port: pl.t.Addr.Port(),
		Interface: pl.route.Interface.Name, Src: pl.route.Src,
		Profile: p.cfg.Profile.Name, Schedule: p.cfg.Profile.Schedule, ICMP: p.cfg.Profile.ICMP,
		Outcome: o, Errno: errno, Reason: reason, Started: now, Finished: now, Expect: pl.t.Expect,
	}
	return r
}

type neighKey struct {
	ifindex int
	addr    netip.Addr
}

type neighResult struct {
	done chan struct{}
	mac  net.HardwareAddr
	err  error
}

// nextHop resolves the route's next hop once per run and shares the answer.
func (p *Prober) nextHop(ctx context.Context, r rawsock.Route) (net.HardwareAddr, error) {
	k := neighKey{r.Interface.Index, r.NextHop}
	p.mu.Lock()
	nr, ok := p.neigh[k]
	if !ok {
		nr = &neighResult{done: make(chan struct{})}
		p.neigh[k] = nr
	}
	p.mu.Unlock()
	if !ok {
		nr.mac, nr.err = p.net.ResolveNeighbor(ctx, r)
		close(nr.done)
	}
	select {
	case <-nr.done:
		return nr.mac, nr.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// start runs one probe's first steps: next hop, port, ISS, registration,
// first SYN.
func (p *Prober) start(ctx context.Context, pl *planned, ls *linkState, sem chan struct{}) {
	started := p.now()
	mac, err := p.nextHop(ctx, pl.route)
	if err != nil {
		if sem != nil {
			<-sem
		}
		if ctx.Err() != nil {
			p.results <- p.localResult(pl, Interrupted, syscall.EINTR, ReasonInterrupted)
			return
		}
		r := p.localResult(pl, LocalError, syscall.EHOSTUNREACH, ReasonNeighbor)
		r.Started = started
		p.results <- r
		return
	}
	local, err := p.localPort(pl)
	if err != nil {
		if sem != nil {
			<-sem
		}
		r := p.localResult(pl, LocalError, syscall.EADDRNOTAVAIL, ReasonLocal)
		p.results <- r
		return
	}
	e := &entry{
		m:      NewMachine(p.cfg.Profile, local, pl.t.Addr, randomISS()),
		link:   ls,
		mac:    mac,
		hidx:   -1,
		target: pl.t,
	}
	e.key = tuple{local: local.Addr(), remote: pl.t.Addr.Addr(), lport: local.Port(), rport: pl.t.Addr.Port()}
	res := e.m.Result()
	res.Target, res.Interface, res.Expect = pl.t.Name, ls.ifi.Name, pl.t.Expect
	var buf [wire.MaxSegmentLen]byte

	// Register before the SYN leaves: a fast reply must find its probe.
	p.mu.Lock()
	if ctx.Err() != nil {
		p.mu.Unlock()
		if sem != nil {
			<-sem
		}
		p.results <- p.localResult(pl, Interrupted, syscall.EINTR, ReasonInterrupted)
		return
	}
	p.probes[e.key] = e
	e.sem = sem
	out := e.m.Start(p.now())
	p.schedule(e)
	p.mu.Unlock()
	p.perform(e, out, buf[:])
}

// localPort picks the probe's source address and port.
func (p *Prober) localPort(pl *planned) (netip.AddrPort, error) {
	src := pl.route.Src
	if p.cfg.SourcePort != 0 {
		return netip.AddrPortFrom(src, p.cfg.SourcePort), nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pool := p.ports[src]
	if pool == nil {
		pool = &portPool{}
		p.ports[src] = pool
	}
	key := func(port uint16) tuple {
		return tuple{local: src, remote: pl.t.Addr.Addr(), lport: port, rport: pl.t.Addr.Port()}
	}
	for _, port := range pool.ports {
		if _, used := p.used[key(port)]; !used {
			p.used[key(port)] = struct{}{}
			return netip.AddrPortFrom(src, port), nil
		}
	}
	port, release, err := p.net.ReservePort(src)
	if err != nil {
		return netip.AddrPort{}, err
	}
	pool.ports = append(pool.ports, port)
	pool.release = append(pool.release, release)
	p.used[key(port)] = struct{}{}
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

func randomISS() uint32 {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return binary.BigEndian.Uint32(b[:])
}

// perform sends what a Machine asked for and, when it is done, hands its
// result on. It runs without p.mu held.
func (p *Prober) perform(e *entry, out Output, buf []byte) {
	if out.SendSYN {
		p.send(e, wire.SYN, e.m.ISS(), out.Done, buf)
	}
	if out.SendRST {
		p.send(e, wire.RST, out.RSTSeq, out.Done, buf)
	}
	if out.Done {
		if e.sem != nil {
			<-e.sem
		}
		p.results <- e.m.Result()
	}
}

// send encodes and writes one segment of e's 4-tuple. A failure is
// recorded in the result unless the result has already been handed on.
func (p *Prober) send(e *entry, flags wire.Flags, seq uint32, deciding bool, buf []byte) {
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
	n, err := wire.EncodeSegment(buf, &spec)
	if err == nil {
		err = e.link.link.WriteIP(buf[:n], e.mac)
	}
	if err != nil {
		p.mu.Lock()
		if deciding || !e.m.Done() {
			res := e.m.Result()
			res.Events = append(res.Events, Event{Time: p.now(), Dir: Sent, Flags: flags, Seq: seq, Effect: EffectIgnored, Why: "send-failed: " + err.Error()})
		}
		p.mu.Unlock()
	}
}

// onPacket is the receive path: parse, find the probe by 4-tuple (or by
// the 4-tuple an ICMP error quotes), let its Machine decide.
func (p *Prober) onPacket(pkt []byte, info rawsock.RecvInfo) {
	var ip wire.IPInfo
	payload, err := wire.ParseIP(pkt, &ip)
	if err != nil || (ip.Fragment && !ip.FirstFragment) {
		p.count(&p.stats.Malformed)
		return
	}
	var buf [wire.MaxSegmentLen]byte
	switch {
	case ip.Protocol == 6:
		var seg wire.Segment
		if err := wire.ParseTCP(payload, &seg); err != nil {
			p.count(&p.stats.Malformed)
			return
		}
		ok := info.ChecksumNotReady || wire.TCPChecksumValid(ip.Src, ip.Dst, payload)
		k := tuple{local: ip.Dst, remote: ip.Src, lport: seg.DstPort, rport: seg.SrcPort}
		p.mu.Lock()
		e := p.probes[k]
		if e == nil {
			p.stats.Unmatched++
			p.mu.Unlock()
			return
		}
		out := e.m.HandleTCP(TCPInfo{Seg: &seg, From: ip.Src, TTL: ip.TTL, ChecksumOK: ok}, info.Time)
		p.settle(e, out)
		p.mu.Unlock()
		p.perform(e, out, buf[:])
	case (ip.Version == 4 && ip.Protocol == 1) || (ip.Version == 6 && ip.Protocol == 58):
		var msg icmp.Message
		v6 := ip.Version == 6
		err := icmp.Parse(payload, v6, ip.Src, ip.Dst, !info.ChecksumNotReady, &msg)
		ok := true
		if errors.Is(err, icmp.ErrChecksum) {
			// Read the quote anyway so the probe it names can count it.
			ok = false
			err = icmp.Parse(payload, v6, ip.Src, ip.Dst, false, &msg)
		}
		if err != nil {
			if !errors.Is(err, icmp.ErrNotError) {
				p.count(&p.stats.Malformed)
			}
			return
		}
		q := &msg.Quote
		k := tuple{local: q.Src, remote: q.Dst, lport: q.SrcPort, rport: q.DstPort}
		p.mu.Lock()
		e := p.probes[k]
		if e == nil {
			p.stats.Unmatched++
			p.mu.Unlock()
			return
		}
		out := e.m.HandleICMP(ICMPInfo{Msg: &msg, From: ip.Src, TTL: ip.TTL, ChecksumOK: ok}, info.Time)
		p.settle(e, out)
		p.mu.Unlock()
		p.perform(e, out, buf[:])
	default:
		p.count(&p.stats.Unmatched)
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
		heap.Remove(&p.timers, e.hidx)
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
			heap.Remove(&p.timers, e.hidx)
		}
		return
	}
	if e.hidx >= 0 {
		if d.Equal(e.due) {
			return
		}
		e.due = d
		heap.Fix(&p.timers, e.hidx)
	} else {
		e.due = d
		heap.Push(&p.timers, e)
	}
	if p.timers[0] == e {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// timerLoop fires every probe's schedule from one heap and one timer.
func (p *Prober) timerLoop(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var buf [wire.MaxSegmentLen]byte
	type step struct {
		e   *entry
		out Output
	}
	var due []step
	for {
		due = due[:0]
		p.mu.Lock()
		now := p.now()
		for len(p.timers) > 0 && !p.timers[0].due.After(now) {
			e := heap.Pop(&p.timers).(*entry)
			out := e.m.Tick(now)
			p.schedule(e)
			due = append(due, step{e, out})
		}
		wait := time.Hour
		if len(p.timers) > 0 {
			wait = p.timers[0].due.Sub(now)
		}
		p.mu.Unlock()
		for _, s := range due {
			p.perform(s.e, s.out, buf[:])
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
	var buf [wire.MaxSegmentLen]byte
	p.mu.Lock()
	var ended []*entry
	now := p.now()
	for _, e := range p.probes {
		if out := e.m.Interrupt(now); out.Done {
			if e.hidx >= 0 {
				heap.Remove(&p.timers, e.hidx)
			}
			ended = append(ended, e)
		}
	}
	p.mu.Unlock()
	for _, e := range ended {
		p.perform(e, Output{Done: true}, buf[:])
	}
}

// timerHeap orders probes by their next deadline.
type timerHeap []*entry

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx = i
	h[j].hidx = j
}

func (h *timerHeap) Push(x any) {
	e := x.(*entry)
	e.hidx = len(*h)
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
