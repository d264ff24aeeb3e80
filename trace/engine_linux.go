package trace

import (
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

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/rawsock"
	"github.com/tcpprobe/tcpprobe/wire"
)

// tick is how often the sender looks at the hops in flight.
const tick = 2 * time.Millisecond

// Run traces cfg.Dst:cfg.Port and returns the result. Errors are for what
// stopped the trace from running at all (no CAP_NET_RAW, an interface that
// cannot be opened); a route that forbids sending is a result (outcome
// local-error), as for a probe.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.defaults()
	r := &Result{Target: cfg.Target, Dst: cfg.Dst.Unmap(), Port: cfg.Port, Started: time.Now()}
	defer func() { r.Finished = time.Now() }()
	route, err := rawsock.RouteTo(r.Dst, rawsock.RouteOptions{Interface: cfg.Interface, Source: cfg.Source})
	var rerr *rawsock.RouteError
	if errors.As(err, &rerr) {
		localVerdict(r, rerr.Errno, probe.RouteReason(rerr.Errno), "nothing left this host: "+rerr.Error())
		return r, nil
	} else if err != nil {
		return nil, err
	}
	if cfg.Source.IsValid() {
		route.Src = cfg.Source
	}
	r.Src, r.Interface = route.Src, route.Interface.Name
	hw, err := rawsock.ResolveNeighbor(ctx, route, rawsock.DefaultSolicitTries, rawsock.DefaultSolicitInterval)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		localVerdict(r, syscall.EHOSTUNREACH, probe.ReasonNeighbor,
			fmt.Sprintf("nothing left this host: the next hop %s on %s did not answer ARP/ND", route.NextHop, route.Interface.Name))
		return r, nil
	}
	r.SrcPort = cfg.SourcePort
	if r.SrcPort == 0 {
		port, release, err := rawsock.ReservePort(route.Src)
		if err != nil {
			return nil, err
		}
		defer release()
		r.SrcPort = port
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("trace: random ISS: %w", err)
	}
	r.ISS = binary.BigEndian.Uint32(b[:])
	link, err := rawsock.Open(&route.Interface, rawsock.LinkConfig{Addrs: []netip.Addr{route.Src}, SocketQueue: true})
	if err != nil {
		return nil, err
	}
	defer link.Close()
	if cfg.Ready != nil {
		if err := cfg.Ready(); err != nil {
			return nil, err
		}
	}
	e := &engine{cfg: cfg, r: r, link: link, hw: hw,
		f:     flow{src: route.Src, dst: r.Dst, sport: r.SrcPort, dport: cfg.Port, sent: map[uint32][]byte{}},
		where: map[uint32][2]int{}}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- link.Receive(rctx, e.receive) }()
	err = e.run(ctx)
	if err == nil && !cfg.NoDistance {
		err = e.distance(ctx)
	}
	stop()
	if rerr := <-done; err == nil && rerr != nil {
		err = rerr
	}
	if err != nil && ctx.Err() == nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	decide(r)
	return r, ctx.Err()
}

// engine is one running trace.
type engine struct {
	cfg  Config
	link *rawsock.Link
	hw   net.HardwareAddr

	// Following fields are guarded by mu: the receive goroutine and the
	// sender both touch them.
	mu       sync.Mutex
	r        *Result
	f        flow
	where    map[uint32][2]int // seq → hop index, query index
	deadline []time.Time       // per hop: when its last query gives up
	distTTL  uint8
	distDone bool
}

func localVerdict(r *Result, errno syscall.Errno, reason, line string) {
	r.Verdict = Verdict{Outcome: string(probe.LocalError), Errno: errno, Reason: reason, Line: line}
}

// segment encodes one SYN (or RST) of the flow.
func (e *engine) segment(ttl int, seq uint32, flags wire.Flags, dport uint16) ([]byte, error) {
	spec := wire.SegmentSpec{Src: e.f.src.WithZone(""), Dst: e.f.dst.WithZone(""), TTL: uint8(ttl),
		ID: uint16(seq - e.r.ISS), SrcPort: e.f.sport, DstPort: dport, Seq: seq, Flags: flags}
	if flags == wire.SYN {
		spec.Window, spec.Options = 64240, e.cfg.Options
		if spec.Options.HasTimestamps {
			spec.Options.TSVal = uint32(time.Now().UnixMilli())
		}
	}
	buf := make([]byte, wire.MaxSegmentLen)
	n, err := wire.EncodeSegment(buf, &spec)
	if err != nil {
		return nil, fmt.Errorf("trace: encode segment: %w", err)
	}
	return buf[:n], nil
}

// run sends the hops and waits for them until the trace ends.
//
// Every query of every hop leaves from the same source address and port to
// the same destination address and port: the 5-tuple an ECMP router hashes
// (layer 3: addresses and protocol; layer 4: also the ports; IPv6 layer 3
// also hashes the flow label, which stays 0) never changes, so every query
// takes the path the probe's SYN takes. What tells the queries apart is
// outside every hash: the TTL, the TCP sequence number (ISS + query index,
// echoed as ACK−1 by the destination and quoted by routers) and the IPv4 ID.
func (e *engine) run(ctx context.Context) error {
	cfg := e.cfg
	next := cfg.FirstHop
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		e.mu.Lock()
		stop, finished := e.state(next, cfg)
		inflight := e.inflight()
		e.mu.Unlock()
		if finished {
			return nil
		}
		if !stop && next <= cfg.MaxHops && inflight < cfg.Parallel {
			if err := e.sendHop(ctx, next); err != nil {
				return err
			}
			next++
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sendHop sends the queries of one hop, cfg.SendGap apart.
func (e *engine) sendHop(ctx context.Context, ttl int) error {
	e.mu.Lock()
	hi := len(e.r.Hops)
	e.r.Hops = append(e.r.Hops, Hop{TTL: ttl})
	e.deadline = append(e.deadline, time.Time{})
	e.mu.Unlock()
	for qi := range e.cfg.Queries {
		if qi > 0 && e.cfg.SendGap > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(e.cfg.SendGap):
			}
		}
		seq := e.r.ISS + uint32((ttl-e.cfg.FirstHop)*e.cfg.Queries+qi)
		pkt, err := e.segment(ttl, seq, wire.SYN, e.cfg.Port)
		if err != nil {
			return err
		}
		// Register before sending: a fast answer must find its query.
		e.mu.Lock()
		e.f.sent[seq] = pkt
		e.where[seq] = [2]int{hi, qi}
		// Stamped before the send call, and again after it unless an
		// answer came first (a lab answers within the call).
		e.r.Hops[hi].Queries = append(e.r.Hops[hi].Queries, Query{Seq: seq, Kind: KindNone, Sent: time.Now()})
		e.mu.Unlock()
		if err := e.link.WriteIP(pkt, e.hw); err != nil {
			return err
		}
		now := time.Now()
		e.mu.Lock()
		if q := &e.r.Hops[hi].Queries[qi]; q.Kind == KindNone {
			q.Sent = now
		}
		e.deadline[hi] = now.Add(e.cfg.Wait)
		e.mu.Unlock()
	}
	return nil
}

// complete reports whether hop i is over: every query answered or its
// wait over.
func (e *engine) complete(i int, now time.Time) bool {
	h := &e.r.Hops[i]
	if len(h.Queries) < e.cfg.Queries {
		return false
	}
	if !e.deadline[i].IsZero() && now.After(e.deadline[i]) {
		return true
	}
	for _, q := range h.Queries {
		if q.Kind == KindNone {
			return false
		}
	}
	return true
}

func (e *engine) inflight() int {
	n, now := 0, time.Now()
	for i := range e.r.Hops {
		if !e.complete(i, now) {
			n++
		}
	}
	return n
}

// state says whether to send no more hops, and whether the trace is over
// (then the hops past its end are cut off). Called with mu held.
func (e *engine) state(next int, cfg Config) (stop, finished bool) {
	now := time.Now()
	hops := e.r.Hops
	if t := terminalHop(hops); t >= 0 {
		for i := 0; i <= t; i++ {
			if !e.complete(i, now) {
				return true, false
			}
		}
		e.r.Hops = hops[:t+1]
		return true, true
	}
	silent := 0
	for i := range hops {
		if !e.complete(i, now) {
			return false, false
		}
		if hops[i].Answered() {
			silent = 0
		} else {
			silent++
		}
		if silent >= cfg.Gap {
			e.r.Hops = hops[:i+1]
			return true, true
		}
	}
	return false, next > cfg.MaxHops
}

// receive handles one packet from the link.
func (e *engine) receive(pkt []byte, info rawsock.RecvInfo) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rep, err := classify(pkt, info.ChecksumNotReady, &e.f)
	if errors.Is(err, errNotOurs) {
		return
	}
	if rep.sendRST {
		dport := e.f.dport
		if rep.distance {
			dport = e.f.distPort
		}
		if rst, err := e.segment(64, rep.rstSeq, wire.RST, dport); err == nil {
			_ = e.link.WriteIP(rst, e.hw)
		}
	}
	if err != nil {
		e.r.Ignored = append(e.r.Ignored, Ignored{From: rep.from, Why: err.Error()})
		return
	}
	if rep.distance {
		if !e.distDone {
			e.distTTL, e.distDone = rep.ttl, true
		}
		return
	}
	w, ok := e.where[rep.seq]
	if !ok || w[0] >= len(e.r.Hops) || w[1] >= len(e.r.Hops[w[0]].Queries) {
		return // a hop past the end of the trace, cut off
	}
	q := &e.r.Hops[w[0]].Queries[w[1]]
	if q.Kind != KindNone {
		return // a duplicate: the first answer stands
	}
	q.Kind, q.From, q.TTL = rep.kind, rep.from, rep.ttl
	// The kernel's receive stamp, unless a forwarded skb kept a stamp of
	// another clock (veth across namespaces can): then the time of reading.
	at := info.Time
	if at.Before(q.Sent) {
		at = time.Now()
	}
	q.RTT = at.Sub(q.Sent)
	q.ICMPType, q.ICMPCode, q.Errno, q.Reason = rep.typ, rep.code, rep.errno, rep.reason
	q.MPLS, q.SYNACK = rep.mpls, rep.synack
	q.Rewritten, q.QuoteRewritten = rep.rewritten, len(rep.rewritten) > 0
}

// distance sends one SYN to the next port when the destination never
// answered, to learn whether it answers at all and from how far.
func (e *engine) distance(ctx context.Context) error {
	e.mu.Lock()
	if terminalHop(e.r.Hops) >= 0 {
		e.mu.Unlock()
		return nil
	}
	e.f.distPort = e.cfg.Port + 1
	if e.cfg.Port == 65535 {
		e.f.distPort = 65534
	}
	e.f.distSeq = e.r.ISS - 1
	e.mu.Unlock()
	pkt, err := e.segment(64, e.f.distSeq, wire.SYN, e.f.distPort)
	if err != nil {
		return err
	}
	if err := e.link.WriteIP(pkt, e.hw); err != nil {
		return err
	}
	deadline := time.Now().Add(e.cfg.Wait)
	t := time.NewTicker(tick)
	defer t.Stop()
	for time.Now().Before(deadline) {
		e.mu.Lock()
		done, ttl := e.distDone, e.distTTL
		e.mu.Unlock()
		if done {
			e.mu.Lock()
			e.r.DestinationHops = hopsFromTTL(ttl)
			e.mu.Unlock()
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
	return nil
}
