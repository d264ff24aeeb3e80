package probe

import (
	"time"

	"github.com/tcpprobe/tcpprobe/wire"
)

// SentAt records that the SYN of attempt (an index in Result.Attempts)
// left at t, a time its driver learns only once the send call has
// returned (the kernel's transmit timestamp): the attempt and its event
// move to t, the first also moves the probe's start (and with it the
// schedule, which runs from the first SYN's departure, as the kernel's
// timer does), and an answer that decided the probe is timed from t. A t
// after that answer cannot be the answered SYN's departure (a clock read
// late, after the call) and is ignored.
func (m *Machine) SentAt(attempt int, t time.Time) {
	res := &m.res
	if attempt < 0 || attempt >= len(res.Attempts) || t.IsZero() {
		return
	}
	last := attempt == len(res.Attempts)-1
	// Decided by a packet that answered this SYN (not by the schedule).
	answered := m.done && last && res.Responder.IsValid() && !res.Soft
	if answered && t.After(res.Finished) {
		return
	}
	res.Attempts[attempt] = t
	n := 0
	for i := range res.Events {
		ev := &res.Events[i]
		if ev.Dir != Sent || ev.Flags != wire.SYN || ev.Effect != EffectProbe {
			continue
		}
		if n == attempt {
			ev.Time = t
			break
		}
		n++
	}
	if attempt == 0 {
		m.start, res.Started = t, t
	}
	if last {
		m.lastTx = t
		if answered {
			res.RTT = res.Finished.Sub(t)
		}
	}
}

// rstSentAt records that the RST with sequence number seq that the
// Machine last asked for (a teardown, or the answer to an unacceptable
// SYN-ACK) left at t: its event, stamped when it was asked for, moves to
// t. An RST answering a retransmitted SYN-ACK after the decision has no
// event of its own; the caller does not pass it.
func (m *Machine) rstSentAt(seq uint32, t time.Time) {
	ev := m.res.Events
	for i := len(ev) - 1; i >= 0; i-- {
		if ev[i].Dir == Sent && ev[i].Flags == wire.RST && ev[i].Seq == seq {
			if !t.Before(ev[i].Time) {
				ev[i].Time = t
			}
			return
		}
	}
}
