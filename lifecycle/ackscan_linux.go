package lifecycle

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/rawsock"
	"github.com/tcpprobe/tcpprobe/wire"
)

// ACKConfig configures an ACKScanner.
type ACKConfig struct {
	Profile    probe.Profile // its schedule: when ACKs go out, when to give up
	Interface  string
	Source     netip.Addr
	SourcePort uint16
	TTL        uint8
	Ready      func() error // called once every link is open
}

// ACKScanner runs --scan ack: one bare ACK per target (again at each of the
// schedule's offsets while unanswered), sent and read on a rawsock.Link.
type ACKScanner struct {
	cfg ACKConfig
}

// NewACKScanner returns an ACKScanner.
func NewACKScanner(cfg ACKConfig) *ACKScanner { return &ACKScanner{cfg: cfg} }

// ackTarget is one target made ready to probe.
type ackTarget struct {
	t       probe.Target
	index   int
	res     *probe.Result // decided before sending (local error)
	p       ackProbe
	ifname  string
	link    *rawsock.Link
	hw      net.HardwareAddr
	release func()
}

// Run probes targets one after the other and emits each result.
func (a *ACKScanner) Run(ctx context.Context, targets []probe.Target, emit func(*probe.Result)) error {
	var prep []*ackTarget
	defer func() {
		for _, t := range prep {
			if t.link != nil {
				t.link.Close()
			}
			if t.release != nil {
				t.release()
			}
		}
	}()
	for i, t := range targets {
		at, err := a.prepare(ctx, i, t)
		if err != nil {
			return err
		}
		prep = append(prep, at)
	}
	if a.cfg.Ready != nil {
		if err := a.cfg.Ready(); err != nil {
			return &probe.EnvError{Err: err}
		}
	}
	for _, t := range prep {
		if t.res == nil {
			t.res = a.one(ctx, t)
		}
		emit(t.res)
	}
	return ctx.Err()
}

func (a *ACKScanner) result(t *ackTarget) *probe.Result {
	return &probe.Result{Target: t.t.Name, Index: t.index, Addr: t.t.Addr.Addr(), Port: t.t.Addr.Port(),
		Interface: t.ifname, Src: t.p.src.Addr(), SrcPort: t.p.src.Port(), Profile: a.cfg.Profile.Name,
		Schedule: a.cfg.Profile.Schedule, ICMP: a.cfg.Profile.ICMP, ISS: t.p.seq, Expect: t.t.Expect,
		Started: time.Now(), Life: &probe.Lifecycle{Mode: "ack-scan"}}
}

func (a *ACKScanner) prepare(ctx context.Context, i int, t probe.Target) (*ackTarget, error) {
	at := &ackTarget{t: t, index: i}
	dst := t.Addr.Addr().Unmap()
	rt, err := rawsock.RouteTo(dst, rawsock.RouteOptions{Interface: a.cfg.Interface, Source: a.cfg.Source})
	if err != nil {
		var re *rawsock.RouteError
		if errors.As(err, &re) {
			at.res = a.result(at)
			at.res.Outcome, at.res.Errno, at.res.Reason = probe.LocalError, re.Errno, probe.ReasonNoRoute
			at.res.Finished = at.res.Started
			return at, nil
		}
		return nil, &probe.EnvError{Err: err}
	}
	port := a.cfg.SourcePort
	if port == 0 {
		// Held for the probe's life: the local kernel sees a bound,
		// non-listening port and never answers the target's RST.
		var rel func()
		if port, rel, err = rawsock.ReservePort(rt.Src); err != nil {
			return nil, &probe.EnvError{Err: err}
		}
		at.release = rel
	}
	at.p = ackProbe{src: netip.AddrPortFrom(rt.Src, port), dst: netip.AddrPortFrom(dst, t.Addr.Port()),
		seq: random32(), ack: random32()}
	at.ifname = rt.Interface.Name
	if !rt.Local && rt.Interface.Flags&net.FlagLoopback == 0 && len(rt.Interface.HardwareAddr) > 0 {
		hw, err := rawsock.ResolveNeighbor(ctx, rt, rawsock.DefaultSolicitTries, rawsock.DefaultSolicitInterval)
		if err != nil {
			at.res = a.result(at)
			at.res.Outcome, at.res.Errno, at.res.Reason = probe.LocalError, syscall.EHOSTUNREACH, probe.ReasonNeighbor
			at.res.Finished = at.res.Started
			return at, nil
		}
		at.hw = hw
	}
	ifi := rt.Interface
	link, err := rawsock.Open(&ifi, rawsock.LinkConfig{Addrs: []netip.Addr{rt.Src}, SocketQueue: true})
	if err != nil {
		return nil, &probe.EnvError{Err: err}
	}
	at.link = link
	return at, nil
}

func random32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

// one sends the ACK on the schedule and waits for its answer.
func (a *ACKScanner) one(ctx context.Context, t *ackTarget) *probe.Result {
	res := a.result(t)
	var (
		mu   sync.Mutex
		done = make(chan struct{})
		once sync.Once
	)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		_ = t.link.Receive(rctx, func(pkt []byte, info rawsock.RecvInfo) {
			v := t.p.handle(pkt, info.Time, info.ChecksumNotReady || info.ChecksumValid)
			if !v.match {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if res.Outcome != "" {
				v.event.Effect, v.event.Why = probe.EffectIgnored, probe.IgnoredAfterDecision
				res.Events = append(res.Events, v.event)
				return
			}
			res.Events = append(res.Events, v.event)
			if !v.decided {
				res.Ignored++
				return
			}
			res.Outcome, res.Errno, res.Reason, res.Responder = v.outcome, v.errno, v.reason, v.event.From
			if n := len(res.Attempts); n > 0 {
				res.RTT = info.Time.Sub(res.Attempts[n-1])
			}
			once.Do(func() { close(done) })
		})
	}()
	buf := make([]byte, wire.MaxSegmentLen)
	n, err := wire.EncodeSegment(buf, &wire.SegmentSpec{Src: t.p.src.Addr(), Dst: t.p.dst.Addr(), TTL: a.cfg.TTL,
		SrcPort: t.p.src.Port(), DstPort: t.p.dst.Port(), Seq: t.p.seq, Ack: t.p.ack, Flags: wire.ACK, Window: 1024})
	if err != nil {
		res.Outcome, res.Reason, res.Errno = probe.LocalError, probe.ReasonLocal, syscall.EINVAL
		res.Finished = time.Now()
		return res
	}
	sched := a.cfg.Profile.Schedule
	offsets := sched.SYNs
	if len(offsets) == 0 {
		offsets = []time.Duration{0}
	}
	start := time.Now()
	res.Started = start
	giveUp := time.NewTimer(sched.GiveUp)
	defer giveUp.Stop()
	next := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
loop:
	for {
		select {
		case <-timer.C:
			// Registered before it leaves: a fast RST must find it.
			mu.Lock()
			sent := time.Now()
			res.Attempts = append(res.Attempts, sent)
			res.Events = append(res.Events, probe.Event{Time: sent, Dir: probe.Sent, Flags: wire.ACK, Seq: t.p.seq,
				Ack: t.p.ack, Effect: probe.EffectProbe, Retransmit: next > 0})
			mu.Unlock()
			if err := t.link.WriteIP(buf[:n], t.hw); err != nil {
				mu.Lock()
				res.Outcome, res.Reason, res.Errno = probe.LocalError, probe.ReasonLocal, errnoOf(err)
				mu.Unlock()
				break loop
			}
			next++
			if next < len(offsets) {
				timer.Reset(time.Until(start.Add(offsets[next])))
			}
		case <-done:
			break loop
		case <-giveUp.C:
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	stop()
	<-recvDone
	mu.Lock()
	defer mu.Unlock()
	switch {
	case res.Outcome != "":
	case ctx.Err() != nil:
		res.Outcome, res.Reason = probe.Interrupted, probe.ReasonInterrupted
	default:
		res.Outcome, res.Reason, res.Errno = probe.Filtered, probe.ReasonTimeout, syscall.ETIMEDOUT
	}
	res.Finished = time.Now()
	return res
}
