package probe

import (
	"fmt"
	"math/bits"
	"net"
	"sync/atomic"
	"time"

	"github.com/tcpprobe/tcpprobe/wire"
)

// entry is one registered probe. Its Machine and scheduling fields are
// protected by p.mu; key, link and mac are fixed at registration and may be
// read without it.
type entry struct {
	m        *Machine
	run      *runState
	key      tuple
	link     *linkState
	dropsAt  uint64 // link drops when the probe (re)started
	hidx     int32  // index in the timer heap, -1 when not in it
	mac      [6]byte
	hasMAC   bool     // mac is set (not on links without a link layer)
	reprobes uint8    // times run again (replies dropped, ICMP rate-limited)
	pending  bool     // a slow re-probe waiting for its slot in the timer heap
	prev     *Result  // while pending: the result it re-probes, kept if it never starts
	gw       *gateway // its next hop's state
	routeGen uint64   // the routing generation its route was looked up in
	ridx     int32    // its place in its run's entries (a streamed run's), -1 when out
	// What the result says of the target as given (Result.Target, Index,
	// Expect): kept here, as the Result is built only at the decision.
	index        int
	name, expect string
	// unstamped counts the probe's sends whose departure time is not in
	// its result yet; while it is above 0 a decided probe's finish waits
	// (finishLater, p.mu) for stampSent (txstamp.go).
	unstamped   atomic.Int32
	finishLater bool
}

// nextHop returns the probe's next-hop hardware address, nil if none.
func (e *entry) nextHop() net.HardwareAddr {
	if !e.hasMAC {
		return nil
	}
	return e.mac[:]
}

// maxReprobes is how often a probe that timed out while the kernel dropped
// replies is run again before its timeout stands (with a note).
const maxReprobes = 2

// WhyReceiveDrops is the Why of the event added to a result that timed out
// while the kernel was dropping received packets: its answer may be lost.
const WhyReceiveDrops = "receive-drops"

// dispatch acts on what e's Machine asked for after one step: the one
// place that turns an Output into timers, sends and a finished probe, for
// the launch, the receive path and the timers alike. Sends are appended to
// acts for the caller to transmit once it has released p.mu; a probe whose
// deciding step also sends is finished after those sends left. p.mu is
// held.
func (p *Prober) dispatch(e *entry, out Output, acts *[]action) {
	if out.Done {
		p.unschedule(e)
	} else {
		p.schedule(e)
	}
	if out.Done && !out.SendSYN && !out.SendRST {
		p.finish(e, acts)
		return
	}
	// The RST first when both are asked for (an unacceptable SYN-ACK
	// answered, then the SYN again at once, under linux).
	if out.SendRST {
		*acts = append(*acts, action{e: e, flags: wire.RST, seq: out.RSTSeq, deciding: out.Done, finish: out.Done && !out.SendSYN})
	}
	if out.SendSYN {
		a := action{e: e, flags: wire.SYN, seq: e.m.ISS(), tsval: out.TSVal, deciding: out.Done, finish: out.Done}
		if out.ACK {
			a.flags, a.ack = wire.SYN|wire.ACK, out.Ack
		}
		*acts = append(*acts, a)
	}
}

// finish hands a decided probe's result to its run, or, when the probe
// gave up while the kernel dropped received packets (its answer may be
// among them), runs it again with a new ISS, appending its first SYN to
// acts. p.mu is held.
func (p *Prober) finish(e *entry, acts *[]action) {
	if p.finishHeld(e) {
		return
	}
	res := e.m.Result()
	now := p.clock.Now()
	if res.Reason == ReasonTimeout || res.Soft {
		if drops := e.link.drops.Load(); drops > e.dropsAt {
			if e.reprobes < maxReprobes {
				p.stats.Reprobed++
				p.reprobe(e, drops, time.Time{}, acts)
				return
			}
			p.stats.Unsure++
			res.Events = append(res.Events, Event{Time: res.Finished, Dir: Received, Effect: EffectIgnored,
				Why: fmt.Sprintf("%s: the kernel dropped %d received packets on %s while this probe waited; its answer may be among them", WhyReceiveDrops, drops-e.dropsAt, e.link.ifi.Name)})
		}
	}
	if at := p.slowReprobe(e, res, now); !at.IsZero() {
		p.reprobe(e, e.link.drops.Load(), at, acts)
		return
	}
	p.release()
	e.run.handOver(e, res)
}

// reprobe runs a finished probe again with a new ISS: at once, appending
// its first SYN to acts, or from the timer heap at a later start (a slow
// re-probe). p.mu is held.
func (p *Prober) reprobe(e *entry, drops uint64, at time.Time, acts *[]action) {
	old := e.m.Result()
	e.reprobes++
	m := new(Machine)
	m.init(e.m.prof, &e.key, randomISS())
	m.SetOptions(p.machineOptions(m.ISS()))
	e.m = m
	e.dropsAt = drops
	if at.IsZero() {
		p.dispatch(e, e.m.Start(p.clock.Now()), acts)
		return
	}
	e.pending, e.prev = true, old
	p.scheduleAt(e, at)
}

// machineOptions tells a new Machine what the SYNs carry: timestamps
// with an offset of their own per probe, as the kernel gives each
// connection (secure_tcp_ts_off), here taken from the probe's random ISS
// (rotated, so the two numbers do not look alike on the wire) rather than
// from a second draw.
func (p *Prober) machineOptions(iss uint32) MachineOptions {
	return MachineOptions{Timestamps: p.cfg.Options.HasTimestamps, TSOffset: bits.RotateLeft32(iss, 13) ^ 0x9e3779b9}
}

// release frees one place in the window of probes in flight; p.mu is held.
func (p *Prober) release() {
	p.inflight--
	p.wakeLaunch()
}

// wakeLaunch tells a launch worker waiting for the window to look again.
func (p *Prober) wakeLaunch() {
	select {
	case p.slot <- struct{}{}:
	default:
	}
}
