package probe

import (
	"net"
	"time"

	"github.com/tcpprobe/tcpprobe/rawsock"
	"github.com/tcpprobe/tcpprobe/wire"
)

// StampLink is a Link whose writes say when each frame left (the kernel's
// transmit timestamp, or the time the send call returned where the kernel
// gives none); *rawsock.Link is one. The Prober then stamps its sent
// events and attempts with those times instead of the time it decided to
// send, which is earlier by the encoding, the port reservation and, for a
// sendmmsg batch on veth, the whole trip of every frame before it through
// the peers' stacks.
type StampLink interface {
	WriteIPStamped(pkt []byte, dst net.HardwareAddr) (time.Time, error)
	WriteIPBatchStamped(pkts [][]byte, dst []net.HardwareAddr, times []time.Time) (int, error)
}

var _ StampLink = (*rawsock.Link)(nil)

// writeBatch sends s.pkts[a:z] on ls in one batch, stamped where the link
// can, and returns how many left.
func (s *sender) writeBatch(ls *linkState, a, z int) int {
	if ls.stamp != nil {
		done, _ := ls.stamp.WriteIPBatchStamped(s.pkts[a:z], s.macs[a:z], s.times[a:z])
		return done
	}
	done, _ := ls.batch.WriteIPBatch(s.pkts[a:z], s.macs[a:z])
	return done
}

// writeOne sends s.pkts[i] on ls, stamped where the link can.
func (s *sender) writeOne(ls *linkState, i int) error {
	if ls.stamp != nil {
		t, err := ls.stamp.WriteIPStamped(s.pkts[i], s.macs[i])
		s.times[i] = t
		return err
	}
	return ls.link.WriteIP(s.pkts[i], s.macs[i])
}

// holdFinish marks every probe of acts as having a send in flight whose
// time is not known yet: a reply the receive path handles meanwhile may
// decide the probe, but not hand its result on (finish waits, see
// finishHeld) before stampSent has put the true send time in it.
func holdFinish(acts []action) {
	for i := range acts {
		acts[i].e.unstamped.Add(1)
	}
}

// stampSent puts the departure time of each sent segment of acts into its
// probe's result and lifts holdFinish's hold, finishing the probes whose
// finish waited for it (their sends go to next); p.mu is held.
func (s *sender) stampSent(acts []action, next *[]action) {
	p := s.p
	for k, i := range s.which {
		t := s.times[k]
		a := &acts[i]
		e := a.e
		if t.IsZero() {
			continue
		}
		switch {
		case a.flags&wire.SYN != 0 && a.seq == e.m.ISS():
			// Also when a reply handled meanwhile decided the probe:
			// SentAt times the answer from t. The SYN (or a simultaneous
			// open's SYN-ACK) is the Machine's last attempt.
			e.m.SentAt(e.m.Attempts(), t)
		case a.flags == wire.RST && (a.deciding || !e.m.Done()):
			// An RST after the decision (answering a retransmitted
			// SYN-ACK) has no event of its own.
			e.m.rstSentAt(a.seq, t)
		}
	}
	clear(s.times)
	for i := range acts {
		e := acts[i].e
		if e.unstamped.Add(-1) == 0 && e.finishLater {
			e.finishLater = false
			p.finish(e, next)
		}
	}
}

// finishHeld reports whether e's finish must wait for a send time still
// in flight, and if so notes that stampSent is to finish it; p.mu is held.
func (p *Prober) finishHeld(e *entry) bool {
	if e.unstamped.Load() > 0 {
		e.finishLater = true
		return true
	}
	return false
}
