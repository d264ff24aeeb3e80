package probe

import (
	"net/netip"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/icmp"
	"github.com/tcpprobe/tcpprobe/wire"
)

// Output is what a Machine asks its driver to do after one step.
type Output struct {
	SendSYN bool   // send the SYN again (same ISS, same port)
	SendRST bool   // send <SEQ=RSTSeq><CTL=RST>
	RSTSeq  uint32 //
	Done    bool   // the outcome is decided: Result is final
}

// Machine is one probe in SYN_SENT: a pure state machine. Its driver calls
// Start once, then HandleTCP, HandleICMP and Tick with the time each
// happened, and performs the Output of each call. Nothing in it reads a
// clock or touches a socket, so tests drive it with made-up times.
type Machine struct {
	prof   Profile
	iss    uint32
	start  time.Time
	next   int // index in prof.Schedule.SYNs of the next SYN to send
	lastTx time.Time

	soft     bool
	softErr  syscall.Errno
	softWhy  string
	softFrom netip.Addr

	done bool
	res  Result
}

// NewMachine returns a probe from local to remote with initial sequence
// number iss under profile p. The profile's schedule must be valid.
func NewMachine(p Profile, local, remote netip.AddrPort, iss uint32) *Machine {
	m := new(Machine)
	m.init(p, local, remote, iss)
	return m
}

// init makes m, which must be zero, what NewMachine returns.
func (m *Machine) init(p Profile, local, remote netip.AddrPort, iss uint32) {
	m.prof, m.iss = p, iss
	m.res = Result{
		Addr:     remote.Addr(),
		Port:     remote.Port(),
		Src:      local.Addr(),
		SrcPort:  local.Port(),
		Profile:  p.Name,
		Schedule: p.Schedule,
		ICMP:     p.ICMP,
		ISS:      iss,
	}
}

// ISS returns the probe's initial sequence number.
func (m *Machine) ISS() uint32 { return m.iss }

// Done reports whether the outcome is decided.
func (m *Machine) Done() bool { return m.done }

// Result returns the probe's result; it is final once Done.
func (m *Machine) Result() *Result { return &m.res }

// Start sends the first SYN at now.
func (m *Machine) Start(now time.Time) Output {
	m.start = now
	m.res.Started = now
	m.next = 0
	return m.sendSYN(now)
}

func (m *Machine) sendSYN(now time.Time) Output {
	m.res.Events = append(m.res.Events, Event{
		Time: now, Dir: Sent, Flags: wire.SYN, Seq: m.iss,
		Effect: EffectProbe, Retransmit: m.next > 0,
	})
	m.res.Attempts = append(m.res.Attempts, now)
	m.lastTx = now
	m.next++
	return Output{SendSYN: true}
}

// Deadline returns when Tick must next be called: the next SYN or the
// give-up time. It is the zero time once the probe is done.
func (m *Machine) Deadline() time.Time {
	if m.done {
		return time.Time{}
	}
	s := m.prof.Schedule
	if m.next < len(s.SYNs) {
		return m.start.Add(s.SYNs[m.next])
	}
	return m.start.Add(s.GiveUp)
}

// Tick advances the schedule to now: it retransmits the SYN if one is due,
// or gives up at the deadline with the saved soft error or ETIMEDOUT.
func (m *Machine) Tick(now time.Time) Output {
	if m.done {
		return Output{}
	}
	s := m.prof.Schedule
	el := now.Sub(m.start)
	if el >= s.GiveUp {
		if m.soft {
			m.finish(now, OutcomeOf(m.softErr), m.softErr, m.softWhy, m.softFrom)
			m.res.Soft = true
		} else {
			m.finish(now, Timeout, syscall.ETIMEDOUT, ReasonTimeout, netip.Addr{})
		}
		return Output{Done: true}
	}
	if m.next < len(s.SYNs) && el >= s.SYNs[m.next] {
		// A driver that woke late sends one SYN, not one per missed slot.
		for m.next+1 < len(s.SYNs) && el >= s.SYNs[m.next+1] {
			m.next++
		}
		return m.sendSYN(now)
	}
	return Output{}
}

// Interrupt ends the probe at now because the run was stopped.
func (m *Machine) Interrupt(now time.Time) Output {
	if m.done {
		return Output{}
	}
	m.finish(now, Interrupted, syscall.EINTR, ReasonInterrupted, netip.Addr{})
	return Output{Done: true}
}

func (m *Machine) finish(now time.Time, o Outcome, errno syscall.Errno, reason string, from netip.Addr) {
	m.done = true
	m.res.Outcome = o
	m.res.Errno = errno
	m.res.Reason = reason
	m.res.Responder = from
	m.res.Finished = now
}

func (m *Machine) ignore(ev Event, why string) Output {
	ev.Effect = EffectIgnored
	ev.Why = why
	m.res.Events = append(m.res.Events, ev)
	m.res.Ignored++
	return Output{}
}

// TCPInfo is a received TCP segment as the driver hands it to a Machine.
type TCPInfo struct {
	Seg        *wire.Segment
	From       netip.Addr
	TTL        uint8
	ChecksumOK bool
}

// HandleTCP applies the SYN_SENT acceptance rules (spec §2.1, §2.2, in
// order) to a segment from the probe's 4-tuple received at now.
func (m *Machine) HandleTCP(in TCPInfo, now time.Time) Output {
	seg := in.Seg
	ev := Event{Time: now, Dir: Received, Flags: seg.Flags, Seq: seg.Seq, Ack: seg.Ack, From: in.From, TTL: in.TTL}
	want := m.iss + 1 // modulo 2^32: ISS 0xFFFFFFFF expects ACK 0
	if m.done {
		// A retransmitted SYN-ACK after our teardown: answer as a CLOSED
		// endpoint would (spec §5.2), without touching the final result.
		if in.ChecksumOK && m.res.Outcome == Open && seg.Flags&(wire.SYN|wire.ACK|wire.RST) == wire.SYN|wire.ACK && seg.Ack == want {
			return Output{SendRST: true, RSTSeq: seg.Ack}
		}
		return Output{}
	}
	if !in.ChecksumOK {
		return m.ignore(ev, IgnoredBadChecksum)
	}
	hasACK := seg.Flags&wire.ACK != 0
	hasRST := seg.Flags&wire.RST != 0
	hasSYN := seg.Flags&wire.SYN != 0
	switch {
	case hasACK && seg.Ack != want:
		if hasRST {
			return m.ignore(ev, IgnoredBadACK)
		}
		// <SEQ=SEG.ACK><CTL=RST>, and SYN_SENT goes on.
		ev.Effect, ev.Why = EffectIgnored, IgnoredBadACK
		m.res.Events = append(m.res.Events, ev, Event{Time: now, Dir: Sent, Flags: wire.RST, Seq: seg.Ack, Effect: EffectAnswer})
		m.res.Ignored++
		return Output{SendRST: true, RSTSeq: seg.Ack}
	case hasACK && hasRST:
		// The RST's own sequence number is not checked (spec §2.1 rule 3).
		ev.Effect, ev.Errno = EffectDecided, syscall.ECONNREFUSED
		m.res.Events = append(m.res.Events, ev)
		m.finish(now, Refused, syscall.ECONNREFUSED, ReasonRST, in.From)
		m.res.RTT = now.Sub(m.lastTx)
		return Output{Done: true}
	case hasACK && hasSYN:
		ev.Effect = EffectDecided
		m.res.Events = append(m.res.Events, ev, Event{Time: now, Dir: Sent, Flags: wire.RST, Seq: want, Effect: EffectTeardown})
		m.finish(now, Open, 0, ReasonSYNACK, in.From)
		m.res.RTT = now.Sub(m.lastTx)
		m.res.SYNACK = &SYNACK{
			Seq: seg.Seq, TTL: in.TTL, Window: seg.Window, Options: seg.Options,
			ECE: seg.Flags&wire.ECE != 0, CWR: seg.Flags&wire.CWR != 0,
		}
		m.res.Teardown = true
		m.soft = false
		return Output{SendRST: true, RSTSeq: want, Done: true}
	case hasACK:
		return m.ignore(ev, IgnoredBareACK)
	case hasRST:
		return m.ignore(ev, IgnoredRSTNoACK)
	case hasSYN:
		return m.ignore(ev, IgnoredSimultaneous)
	default:
		return m.ignore(ev, IgnoredNoFlags)
	}
}

// ICMPInfo is a received ICMP error whose quote names the probe's 4-tuple.
type ICMPInfo struct {
	Msg        *icmp.Message
	From       netip.Addr
	TTL        uint8
	ChecksumOK bool
}

// HandleICMP applies an ICMP error received at now: the quote must carry
// the ISS (spec §2.3); then the profile's errno table and ICMP policy say
// whether it is ignored, path-MTU information, saved as a soft error or
// ends the probe at once.
func (m *Machine) HandleICMP(in ICMPInfo, now time.Time) Output {
	msg := in.Msg
	v := m.prof.Semantics.Verdict(msg)
	ev := Event{
		Time: now, Dir: Received, From: in.From, TTL: in.TTL, ICMP: true,
		ICMPType: msg.Type, ICMPCode: msg.Code, Reason: v.Reason, Seq: msg.Quote.Seq,
	}
	if m.done {
		return Output{}
	}
	if !in.ChecksumOK {
		return m.ignore(ev, IgnoredBadChecksum)
	}
	if msg.Quote.Seq != m.iss {
		return m.ignore(ev, IgnoredQuoteSeq)
	}
	switch v.Class {
	case icmp.Ignore:
		return m.ignore(ev, IgnoredICMPType)
	case icmp.PathMTU:
		ev.Effect = EffectPMTU
		ev.Errno = v.Errno
		m.res.Events = append(m.res.Events, ev)
		return Output{}
	}
	ev.Errno = v.Errno
	hard := m.prof.ICMP == ICMPHard || (m.prof.ICMP == ICMPRFC1122 && v.Hard)
	if !hard {
		ev.Effect = EffectSoft
		m.res.Events = append(m.res.Events, ev)
		m.soft, m.softErr, m.softWhy, m.softFrom = true, v.Errno, v.Reason, in.From
		return Output{}
	}
	ev.Effect = EffectDecided
	m.res.Events = append(m.res.Events, ev)
	m.finish(now, OutcomeOf(v.Errno), v.Errno, v.Reason, in.From)
	m.res.RTT = now.Sub(m.lastTx)
	return Output{Done: true}
}
