package probe

import (
	"time"

	"github.com/tcpprobe/tcpprobe/wire"
)

// rstSentAt records that the RST with sequence number seq that the
// Machine last asked for (a teardown, or the answer to an unacceptable
// SYN-ACK) left at t: its event, stamped when it was asked for, moves to
// t. An RST answering a retransmitted SYN-ACK after the decision has no
// event of its own; the caller does not pass it.
func (m *Machine) rstSentAt(seq uint32, t time.Time) {
	if m.res != nil {
		ev := m.res.Events
		for i := len(ev) - 1; i >= 0; i-- {
			if isRST(&ev[i], seq) {
				if !t.Before(ev[i].Time) {
					ev[i].Time = t
				}
				return
			}
		}
		return
	}
	if m.x == nil {
		return
	}
	ev := m.x.events
	for i := len(ev) - 1; i >= 0; i-- {
		if isRST(&ev[i].Event, seq) {
			if !t.Before(ev[i].Time) {
				ev[i].Time = t
			}
			return
		}
	}
}

// isRST reports whether ev is our RST with sequence number seq.
func isRST(ev *Event, seq uint32) bool {
	return ev.Dir == Sent && ev.Flags == wire.RST && ev.Seq == seq
}
