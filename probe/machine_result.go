package probe

import (
	"net/netip"
	"slices"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/wire"
)

// machineRare is what few probes in flight have: events other than their
// SYNs, a soft error saved for the deadline, the counts of events past
// maxKeptEvents, the peer's SYN of a simultaneous open.
type machineRare struct {
	events   []rankedEvent // in time order, then in the order recorded
	unlisted []IgnoredCount
	synack   *SYNACK
	softErr  syscall.Errno
	softWhy  string
	softFrom netip.Addr
	soft     bool
}

// rankedEvent is an event recorded in flight with its place in the
// order of recording (Machine.nev when it was recorded).
type rankedEvent struct {
	Event
	ord uint16
}

// rare returns m's out-of-line state, made on first use.
func (m *Machine) rare() *machineRare {
	if m.x == nil {
		m.x = new(machineRare)
	}
	return m.x
}

// countUnlisted counts one event not listed in the timeline.
func (x *machineRare) countUnlisted(why string) {
	for i := range x.unlisted {
		if x.unlisted[i].Why == why {
			x.unlisted[i].Count++
			return
		}
	}
	x.unlisted = append(x.unlisted, IgnoredCount{Why: why, Count: 1})
}

// Result returns the probe's result. Once Done it is final and the same
// each call; before, each call returns a new snapshot of what the probe
// has seen so far.
func (m *Machine) Result() *Result {
	if m.res != nil {
		return m.res
	}
	return m.build(0, nil)
}

// Ignored returns how many packets matched to the probe were not
// acceptable so far (Result.Ignored).
func (m *Machine) Ignored() int {
	if m.res != nil {
		return m.res.Ignored
	}
	return int(m.ignored)
}

// resultSpace is room for a Result made ahead of its probe's decision: a
// Run's slab holds one per probe, faulted in before the first SYN
// (slab.go), where a sweep would otherwise allocate and fault in a result
// per answer while every CPU is busy sending.
type resultSpace struct {
	res      Result
	events   [3]Event     // a SYN, the answer and our teardown
	attempts [1]time.Time // the SYN
	// first is the Machine's own record of its first SYN, from the start:
	// its 16-byte allocation was a malloc on the launch path (and, with
	// the collector off, now and then a page fault).
	first [1]attempt
}

// build makes the Result of what m has recorded, its timeline with room
// for extra more events: in sp when it is not nil and has room enough.
func (m *Machine) build(extra int, sp *resultSpace) *Result {
	var r *Result
	if sp != nil {
		r = &sp.res
	} else {
		r = new(Result)
	}
	*r = Result{
		Addr:     m.ends.remote,
		Port:     m.ends.rport,
		Src:      m.ends.local,
		SrcPort:  m.ends.lport,
		Profile:  m.prof.Name,
		Schedule: m.prof.Schedule,
		ICMP:     m.prof.ICMP,
		ISS:      m.iss,
		Ignored:  int(m.ignored),
	}
	var rare []rankedEvent
	if x := m.x; x != nil {
		rare = x.events
		r.SYNACK = x.synack
		r.IgnoredUnlisted = append([]IgnoredCount(nil), x.unlisted...)
	}
	if len(m.attempts) > 0 {
		r.Started = m.sent(0)
		if sp != nil && len(m.attempts) <= len(sp.attempts) {
			r.Attempts = sp.attempts[:0]
		} else {
			r.Attempts = make([]time.Time, 0, len(m.attempts))
		}
		for i, a := range m.attempts {
			if !a.failed {
				r.Attempts = append(r.Attempts, m.sent(i))
			}
		}
	}
	// The SYNs and the rare events, merged by time, then by the order
	// they were recorded in.
	if n := len(m.attempts) + len(rare) + extra; sp != nil && n <= len(sp.events) {
		r.Events = sp.events[:0]
	} else {
		r.Events = make([]Event, 0, n)
	}
	i, j := 0, 0
	for i < len(m.attempts) || j < len(rare) {
		if j == len(rare) || i < len(m.attempts) && m.before(i, rare[j]) {
			r.Events = append(r.Events, m.synEvent(i))
			i++
		} else {
			r.Events = append(r.Events, rare[j].Event)
			j++
		}
	}
	// A send time corrected (SentAt) past a later event's.
	if !slices.IsSortedFunc(r.Events, byTime) {
		slices.SortStableFunc(r.Events, byTime)
	}
	return r
}

func byTime(a, b Event) int { return a.Time.Compare(b.Time) }

// before reports whether attempt i comes before ev in the timeline.
func (m *Machine) before(i int, ev rankedEvent) bool {
	if c := m.sent(i).Compare(ev.Time); c != 0 {
		return c < 0
	}
	return m.attempts[i].ord < ev.ord
}

// synEvent is the event of attempt i.
func (m *Machine) synEvent(i int) Event {
	a := &m.attempts[i]
	ev := Event{Time: m.sent(i), Dir: Sent, Flags: wire.SYN, Seq: m.iss, Effect: EffectProbe, Retransmit: i > 0}
	if a.synack {
		ev.Flags, ev.Ack = wire.SYN|wire.ACK, m.irs+1
	}
	return ev
}
