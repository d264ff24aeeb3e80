package kconnect

import (
	"context"
	"net/netip"
	"syscall"
	"time"

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
}

// Reasons a connect-mode result gives, beside the route-* words of
// package probe for errors connect() returned at once.
const (
	ReasonRefused = "connect-refused" // ECONNREFUSED: an RST or ICMP port unreachable; the kernel does not say which
	ReasonError   = "connect-error"   // another asynchronous error (ICMP unreachable)
)

// Prober runs kernel connects.
type Prober struct{ cfg Config }

// New returns a Prober for cfg.
func New(cfg Config) *Prober { return &Prober{cfg: cfg} }

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

// classify maps connect()'s errno to an outcome. sync says connect()
// itself failed (nothing was sent), rather than the handshake.
func classify(errno syscall.Errno, sync bool) (probe.Outcome, string) {
	if sync {
		switch errno {
		case syscall.ENETUNREACH:
			return probe.LocalError, probe.ReasonNoRoute
		case syscall.EHOSTUNREACH:
			return probe.LocalError, probe.ReasonRouteUnreach
		case syscall.EACCES, syscall.EPERM:
			return probe.LocalError, probe.ReasonRouteProhibit
		case syscall.EINVAL:
			return probe.LocalError, probe.ReasonRouteBlackhol
		case syscall.ECONNREFUSED:
			return probe.Refused, ReasonRefused
		}
		return probe.LocalError, probe.ReasonLocal
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
