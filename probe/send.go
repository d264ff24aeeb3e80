package probe

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/rawsock"
	"github.com/tcpprobe/tcpprobe/wire"
)

// action is one segment a probe asked to send.
type action struct {
	e        *entry
	flags    wire.Flags
	seq      uint32
	ack      uint32 // a simultaneous open's SYN-ACK (flags SYN|ACK)
	tsval    uint32 // a SYN's timestamp value, as its Machine chose it
	deciding bool   // the step that asked for it decided the probe
	finish   bool   // finish the probe once this has left (dispatch)
	// mac, when set, is the next hop to send to instead of the probe's:
	// its route changed to another next hop on the same link (reroute).
	mac net.HardwareAddr
}

// sender is the one send path: it encodes actions outside p.mu and writes
// them in sendmmsg batches per link where the link can, one by one where it
// cannot (or where a batch stopped short), so a failure lands on its probe.
// Each goroutine that sends (a launch worker, a receive loop, the timer
// loop) has its own.
type sender struct {
	p *Prober
	// reroute asks the kernel again, once per destination and batch,
	// whether it would still send there, when the routing state may have
	// changed since the probe's route was looked up (routegen.go): a
	// retransmission does not leave when the route has since become
	// unreachable, prohibit, blackhole or gone, just as the kernel's own
	// retransmission would not.
	reroute bool

	bufs   [][]byte // encoding buffers, reused
	pkts   [][]byte
	macs   []net.HardwareAddr
	which  []int       // index in acts of each of pkts
	times  []time.Time // when each of pkts left, where the link says (StampLink)
	routes map[netip.Addr]routeAnswer
	failed []sendFailure
	next   []action // sends that finishing asked for (a probe run again)
}

type sendFailure struct {
	i   int // index in acts
	err error
}

func newSender(p *Prober) *sender { return &sender{p: p} }

// transmit sends acts, then finishes the probes whose deciding segments
// have left (which may ask for more sends: those go too). It returns acts
// emptied, for reuse. p.mu must not be held.
func (s *sender) transmit(acts []action) []action {
	p := s.p
	for len(acts) > 0 {
		holdFinish(acts)
		s.write(acts)
		p.mu.Lock()
		s.stampSent(acts, &s.next)
		for _, f := range s.failed {
			p.sendFailed(&acts[f.i], f.err)
		}
		for i := range acts {
			if acts[i].finish {
				p.finish(acts[i].e, &s.next)
			}
		}
		p.mu.Unlock()
		clear(s.failed)
		s.failed = s.failed[:0]
		clear(acts)
		acts, s.next = s.next, acts[:0]
	}
	return acts
}

// write encodes and writes every action, noting failures in s.failed.
func (s *sender) write(acts []action) {
	p := s.p
	s.pkts, s.macs, s.which = s.pkts[:0], s.macs[:0], s.which[:0]
	if s.reroute {
		clear(s.routes)
		if s.routes == nil {
			s.routes = map[netip.Addr]routeAnswer{}
		}
	}
	for i := range acts {
		a := &acts[i]
		if s.reroute && a.flags&wire.SYN != 0 && p.routeMayHaveChanged(a.e) {
			ans, ok := s.routes[a.e.key.remote]
			if !ok {
				ans.r, ans.err = p.routeTo(a.e.key.remote)
				s.routes[a.e.key.remote] = ans
			}
			if send, err := s.follow(a, &ans); err != nil {
				s.failed = append(s.failed, sendFailure{i, err})
				continue
			} else if !send {
				continue // leaves once its new next hop is resolved
			}
		}
		k := len(s.pkts)
		if k == len(s.bufs) {
			s.bufs = append(s.bufs, make([]byte, wire.MaxSegmentLen))
		}
		n, err := p.encode(a, s.bufs[k])
		if err != nil {
			s.failed = append(s.failed, sendFailure{i, err})
			continue
		}
		s.pkts = append(s.pkts, s.bufs[k][:n])
		if a.mac != nil {
			s.macs = append(s.macs, a.mac)
		} else {
			s.macs = append(s.macs, a.e.nextHop())
		}
		s.which = append(s.which, i)
	}
	if cap(s.times) < len(s.pkts) {
		s.times = make([]time.Time, len(s.pkts))
	}
	s.times = s.times[:len(s.pkts)]
	for a := 0; a < len(s.pkts); {
		ls := acts[s.which[a]].e.link
		z := a + 1
		for z < len(s.pkts) && acts[s.which[z]].e.link == ls {
			z++
		}
		done := 0
		if ls.batch != nil && z-a > 1 {
			done = s.writeBatch(ls, a, z)
		}
		for i := a + done; i < z; i++ {
			if err := s.writeOne(ls, i); err != nil {
				s.failed = append(s.failed, sendFailure{s.which[i], err})
			}
		}
		a = z
	}
	clear(s.macs)
}

// encode writes a's segment into buf; a SYN (or a simultaneous open's
// SYN-ACK) carries the Prober's window and options, with the TSval its
// Machine chose.
func (p *Prober) encode(a *action, buf []byte) (int, error) {
	e := a.e
	spec := wire.SegmentSpec{
		Src: e.key.local, Dst: e.key.remote, TTL: p.cfg.TTL,
		SrcPort: e.key.lport, DstPort: e.key.rport, Seq: a.seq, Ack: a.ack, Flags: a.flags,
	}
	if a.flags&wire.SYN != 0 {
		spec.Window = p.cfg.Window
		spec.Options = p.cfg.Options
		if spec.Options.HasTimestamps {
			spec.Options.TSVal = a.tsval
		}
	}
	return wire.EncodeSegment(buf, &spec)
}

// sendFailed records a send that did not leave in its probe's result,
// unless the result has already been handed on (Machine.SendFailed: a
// route that failed is a soft error under the linux profile); p.mu is
// held.
func (p *Prober) sendFailed(a *action, err error) {
	e := a.e
	if !a.deciding && e.m.Done() {
		return
	}
	var errno syscall.Errno
	if re := (*rawsock.RouteError)(nil); errors.As(err, &re) {
		errno = re.Errno
	}
	e.m.SendFailed(a.flags, a.seq, err.Error(), errno, p.clock.Now())
}
