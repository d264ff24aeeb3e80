package probe

import (
	"slices"
	"time"

	"github.com/tcpprobe/tcpprobe/wire"
)

// How Result.AnsweredAttempt was found.
const (
	// AnsweredByTSecr: the deciding segment's TSecr echoed that SYN's TSval.
	AnsweredByTSecr = "tsecr"
	// AnsweredByLastSYN: no echo told (no timestamps, an ICMP error or an
	// RST, or a TSecr that matched no SYN): the last SYN sent before the
	// answer.
	AnsweredByLastSYN = "last-syn"
)

// derive computes what follows from the attempts and the deciding
// packet: which SYN was answered, the RTT from it and the connect time
// from the first SYN. Neither is ever negative.
func (m *Machine) derive() {
	r := m.res
	r.AnsweredAttempt, r.AnsweredBy, r.RTT, r.Connect = 0, "", 0, 0
	if !m.answered || len(m.attempts) == 0 {
		return
	}
	decidedAt := r.Finished
	i := -1
	if m.opts.Timestamps && m.hasEcho {
		for j := len(m.attempts) - 1; j >= 0; j-- {
			if m.attempts[j].tsval == m.echo {
				i, r.AnsweredBy = j, AnsweredByTSecr
				break
			}
		}
	}
	if i < 0 {
		i, r.AnsweredBy = 0, AnsweredByLastSYN
		for j := range m.attempts {
			if !m.sent(j).After(decidedAt) {
				i = j
			}
		}
	}
	r.AnsweredAttempt = i + 1
	r.RTT = max(0, decidedAt.Sub(m.sent(i)))
	r.Connect = max(0, decidedAt.Sub(m.sent(0)))
}

// maxSendLag bounds how long after the decision to send a SYN it can have
// left: a send call, even a batch's on veth that carries every frame
// before it through the peers' stacks, takes milliseconds.
const maxSendLag = time.Second

// SentAt corrects the send time of SYN number attempt (1-based, in the
// order the Machine asked for them) to t, when the driver learns when the
// frame actually left (a kernel transmit timestamp, or the time the send
// call returned). The SYN's event, the result's attempt list, the
// timeline's order and, once decided, the RTT, connect time and answered
// attempt follow. The first SYN's departure is the probe's start, and the
// schedule runs from it: the kernel arms a SYN's retransmission timer once
// the SYN is out (tcp_connect), so its second SYN never leaves less than
// the schedule's interval after the first, however long the first took to
// leave. Ignored: an unknown attempt, a zero t, a t after the answer that
// decided the probe (a clock read late, after the send call: not the
// answered SYN's departure), and a t before the decision to send or
// maxSendLag or more after it (the wall clock was stepped meanwhile).
func (m *Machine) SentAt(attempt int, t time.Time) {
	i := attempt - 1
	if i < 0 || i >= len(m.attempts) || t.IsZero() || (m.answered && t.After(m.res.Finished)) {
		return
	}
	old := m.sent(i)
	d := t.Sub(old) // on the wall clock: a kernel stamp has no other
	if d <= 0 || d >= maxSendLag {
		return
	}
	if i == 0 {
		// Move the anchor by d, not to t: the start keeps the driver's
		// clock reading (its monotonic part), the one its timers and
		// Tick's now run on. The other attempts keep their times.
		m.start = m.start.Add(d)
		for j := 1; j < len(m.attempts); j++ {
			m.attempts[j].at -= d
		}
	} else {
		m.attempts[i].at += d
	}
	t = m.sent(i) // as the Result and the timeline will say it
	r := m.res
	if r == nil {
		return // the Result, built at the decision, takes the times from the attempts
	}
	if i == 0 {
		r.Started = t
	}
	for j, a := range r.Attempts {
		if a.Equal(old) {
			r.Attempts[j] = t
			break
		}
	}
	for j := range r.Events {
		e := &r.Events[j]
		if e.Dir == Sent && e.Flags&wire.SYN != 0 && e.Effect == EffectProbe && e.Time.Equal(old) {
			e.Time = t
			break
		}
	}
	slices.SortStableFunc(r.Events, byTime)
	m.derive()
}

// Attempts returns how many SYNs (or SYN-ACKs of a simultaneous open) the
// Machine has asked to send: the numbers SentAt takes run from 1 to it.
func (m *Machine) Attempts() int { return len(m.attempts) }
