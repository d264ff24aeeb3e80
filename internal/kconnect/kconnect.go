package kconnect

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/icmp"
	"github.com/tcpprobe/tcpprobe/probe"
)

// Config configures a Prober.
type Config struct {
	// Profile names the run and gives the give-up time
	// (Profile.Schedule.GiveUp); the kernel keeps its own SYN schedule.
	Profile    probe.Profile
	Interface  string     // bind to this interface (SO_BINDTODEVICE)
	Source     netip.Addr // bind to this source address
	SourcePort uint16     // bind to this source port
	TTL        uint8      // IP TTL / hop limit; 0: the kernel's
	// Rate caps new connects per second (0: no cap).
	Rate float64
	// Concurrency caps connects in flight (0: no cap).
	Concurrency int
	// Kernel is this host's own SYN schedule (the linux profile's), which
	// connect(2) follows whatever Profile says: it dates the SYNs the
	// kernel says it sent. Zero: read from this host's sysctls.
	Kernel probe.Schedule
}

// Reasons a connect-mode result gives, beside the route-* words of
// package probe for errors connect() returned at once.
const (
	ReasonRefused = "connect-refused" // ECONNREFUSED from connect() itself (a local REJECT): nothing more is known
	ReasonError   = "connect-error"   // another asynchronous error whose ICMP message the kernel did not queue
)

// Prober runs kernel connects.
type Prober struct {
	cfg Config

	localOnce sync.Once
	local     []netip.Addr // this host's addresses, read once
}

// New returns a Prober for cfg.
func New(cfg Config) *Prober {
	if len(cfg.Kernel.SYNs) == 0 {
		cfg.Kernel = HostSchedule()
	}
	return &Prober{cfg: cfg}
}

// HostSchedule is this host's connect(2) SYN schedule, from its sysctls
// (Linux's defaults when they cannot be read).
func HostSchedule() probe.Schedule {
	r, l, err := probe.HostSysctls()
	if err != nil {
		r, l = 6, 4
	}
	return probe.LinuxSchedule(r, l)
}

// isLocal reports whether a is src or another address of this host: an
// ICMP error from there was made by this host's own stack (a neighbour
// failure), not by the network.
func (p *Prober) isLocal(a, src netip.Addr) bool {
	a = a.Unmap().WithZone("")
	if a == src.Unmap().WithZone("") || a.IsLoopback() {
		return true
	}
	p.localOnce.Do(func() {
		addrs, _ := net.InterfaceAddrs()
		for _, x := range addrs {
			if pf, err := netip.ParsePrefix(x.String()); err == nil {
				p.local = append(p.local, pf.Addr().Unmap().WithZone(""))
			}
		}
	})
	for _, l := range p.local {
		if l == a {
			return true
		}
	}
	return false
}

// Run connects to every target and calls emit, from one goroutine, with
// each result as it is decided. When ctx is cancelled, connects in flight
// and targets not yet started end as interrupted, and Run returns
// ctx.Err().
func (p *Prober) Run(ctx context.Context, targets []probe.Target, emit func(*probe.Result)) error {
	results := make(chan *probe.Result, 64)
	var sem chan struct{}
	if p.cfg.Concurrency > 0 {
		sem = make(chan struct{}, p.cfg.Concurrency)
	}
	var gap time.Duration
	if p.cfg.Rate > 0 {
		gap = time.Duration(float64(time.Second) / p.cfg.Rate)
	}
	go func() {
		next := time.Now()
		interrupted := func(i int, t probe.Target) *probe.Result {
			r := p.result(t, time.Now(), probe.Interrupted, syscall.EINTR, probe.ReasonInterrupted)
			r.Index = i
			return r
		}
		for i, t := range targets {
			if ctx.Err() != nil {
				results <- interrupted(i, t)
				continue
			}
			if gap > 0 {
				if d := time.Until(next); d > 0 {
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
					results <- interrupted(i, t)
					continue
				}
			}
			go func() {
				r := p.connect(ctx, t)
				r.Index = i
				if sem != nil {
					<-sem
				}
				results <- r
			}()
		}
	}()
	for range targets {
		emit(<-results)
	}
	return ctx.Err()
}

// result is a result with the fields every outcome shares.
func (p *Prober) result(t probe.Target, start time.Time, o probe.Outcome, errno syscall.Errno, reason string) *probe.Result {
	return &probe.Result{
		Target: t.Name, Addr: t.Addr.Addr(), Port: t.Addr.Port(),
		Interface: p.cfg.Interface, Src: p.cfg.Source, SrcPort: p.cfg.SourcePort,
		Profile: p.cfg.Profile.Name, Schedule: p.cfg.Profile.Schedule, ICMP: p.cfg.Profile.ICMP,
		Outcome: o, Errno: errno, Reason: reason,
		Started: start, Finished: time.Now(), Expect: t.Expect,
	}
}

// icmpError is what the socket's error queue (IP_RECVERR, IPV6_RECVERR)
// says about the ICMP error that ended a connect(): the message's type and
// code and who sent it. The kernel queues it only when an ICMP error, not
// an RST, decided.
type icmpError struct {
	V6         bool
	Type, Code uint8
	From       netip.Addr
}

// neighborFailure reports whether e is the error a host's own stack sends
// itself when the next hop never answered ARP or neighbour solicitation:
// host unreachable (v4 3/1) or address unreachable (v6 1/3).
func (e *icmpError) neighborFailure() bool {
	if e.V6 {
		return e.Type == 1 && e.Code == 3
	}
	return e.Type == 3 && e.Code == 1
}

// classify maps connect()'s errno to an outcome. sync says connect()
// itself failed (nothing was sent), rather than the handshake.
func classify(errno syscall.Errno, sync bool) (probe.Outcome, string) {
	if sync {
		if errno == syscall.ECONNREFUSED {
			return probe.Refused, ReasonRefused
		}
		// connect(2) fails as the route lookup does (spec §4).
		return probe.LocalError, probe.RouteReason(errno)
	}
	switch errno {
	case 0:
		return probe.Open, probe.ReasonSYNACK
	case syscall.ECONNREFUSED:
		return probe.Refused, ReasonRefused
	case syscall.ETIMEDOUT:
		return probe.Timeout, probe.ReasonTimeout
	}
	return probe.Unreachable, ReasonError
}

// verdict is the outcome, reason and responder of a handshake that ended
// with errno, saying only what the kernel told: qe is the ICMP error the
// error queue held (nil: none, so an ECONNREFUSED came from an RST, sent
// from the target's address), local says whether an address is this
// host's. An ICMP error this host sent itself about its next hop is a
// neighbour failure: nothing left the host, a local error as in raw mode.
func verdict(errno syscall.Errno, qe *icmpError, target netip.Addr, local func(netip.Addr) bool) (probe.Outcome, string, netip.Addr) {
	if errno == 0 {
		return probe.Open, probe.ReasonSYNACK, target
	}
	if qe != nil && errno != syscall.ETIMEDOUT {
		reason := icmp.Linux(&icmp.Message{V6: qe.V6, Type: qe.Type, Code: qe.Code}).Reason
		switch {
		case qe.neighborFailure() && qe.From.IsValid() && local(qe.From):
			return probe.LocalError, probe.ReasonNeighbor, netip.Addr{}
		case errno == syscall.ECONNREFUSED:
			return probe.Refused, reason, qe.From
		}
		return probe.Unreachable, reason, qe.From
	}
	switch errno {
	case syscall.ECONNREFUSED:
		return probe.Refused, probe.ReasonRST, target
	case syscall.ETIMEDOUT:
		return probe.Timeout, probe.ReasonTimeout, netip.Addr{}
	}
	return probe.Unreachable, ReasonError, netip.Addr{}
}

// attempts dates the n SYNs connect() sent from start: the first at start,
// each retransmission at the kernel's own schedule (its timer, initial RTO
// 1 s, is what sent them; TCP_INFO counts them but does not date them),
// none after end.
func attempts(n int, start, end time.Time, kernel probe.Schedule) []time.Time {
	out := make([]time.Time, 0, max(n, 1))
	for i := 0; i < max(n, 1); i++ {
		var off time.Duration
		switch {
		case i < len(kernel.SYNs):
			off = kernel.SYNs[i]
		case len(kernel.SYNs) > 0:
			off = kernel.SYNs[len(kernel.SYNs)-1]
		}
		at := start.Add(off)
		if at.After(end) {
			at = end
		}
		out = append(out, at)
	}
	return out
}
