package probe

import (
	"math"
	"net/netip"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/icmp"
	"github.com/tcpprobe/tcpprobe/wire"
)

// Output is what a Machine asks its driver to do after one step.
type Output struct {
	// SendSYN: send the SYN (same ISS, same port) with TSVal in its
	// timestamps option when the Machine was told the SYNs carry one
	// (MachineOptions.Timestamps). With ACK set it is the SYN-ACK of a
	// simultaneous open: <SEQ=ISS><ACK=Ack><CTL=SYN,ACK>, same options.
	SendSYN bool
	ACK     bool
	Ack     uint32
	TSVal   uint32
	// SendRST: send <SEQ=RSTSeq><CTL=RST>.
	SendRST bool
	RSTSeq  uint32
	// Done: the outcome is decided; Result is final.
	Done bool
}

// MachineOptions say what a Machine must know of the SYNs its driver
// sends.
type MachineOptions struct {
	// Timestamps: the SYNs carry the timestamps option (RFC 7323). The
	// Machine then picks each SYN's TSval (Output.TSVal; the driver must
	// send that value), checks that a SYN-ACK echoes one under the linux
	// profile (PAWS, tcp_rcv_synsent_state_process) and tells which SYN
	// was answered by the SYN-ACK's TSecr.
	Timestamps bool
	// TSOffset is added to the millisecond clock to make a TSval, as the
	// kernel's per-connection tsoffset; 0 gives the Unix time in ms.
	TSOffset uint32
}

// maxKeptEvents bounds the events a probe keeps that did not decide it
// (ignored packets, PMTU and soft errors, drops the receive path names it
// in); the rest are counted by reason in Result.IgnoredUnlisted.
const maxKeptEvents = 64

// state is where a Machine is in the handshake.
type state uint8

const (
	synSent state = iota
	synRecv       // simultaneous open: our SYN-ACK is out (spec §2.2)
	closed        // decided
)

// attempt is one SYN (or a simultaneous open's SYN-ACK) as sent.
type attempt struct {
	at     time.Duration // sent at Machine.start + at (16 bytes where a time.Time takes 24 and pads to 32)
	tsval  uint32
	ord    uint16 // events recorded before it: its place among events of the same time
	synack bool   // our SYN-ACK in SYN_RECV (Ack = irs+1)
	failed bool   // the send failed (SendFailed): not in Result.Attempts
}

// Machine is one probe in SYN_SENT: a pure state machine. Its driver calls
// Start once, then HandleTCP, HandleICMP and Tick with the time each
// happened, and performs the Output of each call; SentAt corrects a SYN's
// send time once the driver knows when it left. Nothing in it reads a
// clock or touches a socket, so tests drive it with made-up times.
//
// A probe in flight is kept small (a sweep holds hundreds of thousands):
// its SYNs are its attempts, what is rare (ignored packets, soft errors)
// sits out of line in x, and its Result is built when it is decided.
type Machine struct {
	prof     *Profile
	ends     *tuple // its 4-tuple: the engine's entry's own key
	start    time.Time
	attempts []attempt
	x        *machineRare // nil until something rare happens
	res      *Result      // built at the decision; nil before
	spare    *resultSpace // where to build it, if the driver made room ahead
	opts     MachineOptions
	iss      uint32
	irs      uint32 // the peer's SYN in a simultaneous open
	echo     uint32 // the deciding segment's TSecr
	next     int32  // index in prof.Schedule.SYNs of the next SYN to send
	kept     int32  // events counted against maxKeptEvents
	ignored  int32  // Result.Ignored
	nev      uint16 // events recorded in flight (their order among equal times)
	state    state
	hasEcho  bool
	answered bool // decided by a packet: Result.Finished is its time
	done     bool
}

// NewMachine returns a probe from local to remote with initial sequence
// number iss under profile p. The profile's schedule must be valid.
func NewMachine(p Profile, local, remote netip.AddrPort, iss uint32) *Machine {
	m := new(Machine)
	m.init(&p, &tuple{local: local.Addr(), remote: remote.Addr(), lport: local.Port(), rport: remote.Port()}, iss)
	return m
}

// init makes m, which must be zero, what NewMachine returns; neither *p
// nor *ends may change while m lives.
func (m *Machine) init(p *Profile, ends *tuple, iss uint32) {
	m.prof, m.ends, m.iss = p, ends, iss
}

// SetOptions tells m what its SYNs carry; call it before Start.
func (m *Machine) SetOptions(o MachineOptions) { m.opts = o }

// ISS returns the probe's initial sequence number.
func (m *Machine) ISS() uint32 { return m.iss }

// Done reports whether the outcome is decided.
func (m *Machine) Done() bool { return m.done }

// linux reports whether m follows this host's kernel (the linux profile)
// rather than RFC 9293 / 4.4BSD where they differ.
func (m *Machine) linux() bool { return m.prof.Name == ProfileLinux }

// Start sends the first SYN at now.
func (m *Machine) Start(now time.Time) Output {
	m.start = now
	m.next = 0
	out := m.sendSYN(now)
	m.next++
	return out
}

// sent returns when attempt i was sent.
func (m *Machine) sent(i int) time.Time { return m.start.Add(m.attempts[i].at) }

// tsval is the TSval of a SYN sent at t.
func (m *Machine) tsval(t time.Time) uint32 { return uint32(t.UnixMilli()) + m.opts.TSOffset }

// sendSYN records a SYN (or, in SYN_RECV, our SYN-ACK) sent at now.
func (m *Machine) sendSYN(now time.Time) Output {
	out := Output{SendSYN: true}
	a := attempt{at: now.Sub(m.start), ord: m.nev}
	if m.state == synRecv {
		out.ACK, out.Ack = true, m.irs+1
		a.synack = true
	}
	if m.opts.Timestamps {
		out.TSVal = m.tsval(now)
	}
	a.tsval = out.TSVal
	m.attempts = append(m.attempts, a)
	m.count()
	return out
}

// Deadline returns when Tick must next be called: the next SYN or the
// give-up time. It is the zero time once the probe is done.
func (m *Machine) Deadline() time.Time {
	if m.done {
		return time.Time{}
	}
	s := m.prof.Schedule
	if int(m.next) < len(s.SYNs) {
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
		if x := m.x; x != nil && x.soft {
			m.finish(now, OutcomeOf(x.softErr), x.softErr, x.softWhy, x.softFrom)
			m.res.Soft = true
		} else {
			m.finish(now, Timeout, syscall.ETIMEDOUT, ReasonTimeout, netip.Addr{})
		}
		return Output{Done: true}
	}
	if int(m.next) < len(s.SYNs) && el >= s.SYNs[m.next] {
		// A driver that woke late sends one SYN, not one per missed slot.
		for int(m.next)+1 < len(s.SYNs) && el >= s.SYNs[m.next+1] {
			m.next++
		}
		out := m.sendSYN(now)
		m.next++
		return out
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

// finish decides the probe: its Result is built here.
func (m *Machine) finish(now time.Time, o Outcome, errno syscall.Errno, reason string, from netip.Addr) {
	m.done, m.state = true, closed
	extra := 0
	if m.answered {
		extra = 2 // the deciding event and our teardown RST
	}
	r := m.build(extra, m.spare)
	m.spare = nil
	r.Outcome = o
	r.Errno = errno
	r.Reason = reason
	r.Responder = from
	r.Finished = now
	m.res, m.x = r, nil
	m.derive()
}

// decide finishes the probe on the packet received at now.
func (m *Machine) decide(ev Event, now time.Time, o Outcome, errno syscall.Errno, reason string, from netip.Addr) {
	m.answered = true
	m.finish(now, o, errno, reason, from)
	ev.Effect = EffectDecided
	m.addEvent(ev)
}

// addEvent records ev: in flight among the rare events, in time order
// (after events of the same time); once decided, in the Result's
// timeline, in the same order.
func (m *Machine) addEvent(ev Event) {
	if m.res != nil {
		m.res.Events = insertEvent(m.res.Events, ev)
		return
	}
	x := m.rare()
	x.events = append(x.events, rankedEvent{Event: ev, ord: m.nev})
	for i := len(x.events) - 1; i > 0 && x.events[i-1].Time.After(ev.Time); i-- {
		x.events[i], x.events[i-1] = x.events[i-1], x.events[i]
	}
	m.count()
}

// count counts one event recorded in flight.
func (m *Machine) count() {
	if m.nev < math.MaxUint16 {
		m.nev++
	}
}

// insertEvent inserts ev in evs in time order, after events of the same
// time.
func insertEvent(evs []Event, ev Event) []Event {
	evs = append(evs, ev)
	i := len(evs) - 1
	for i > 0 && evs[i-1].Time.After(ev.Time) {
		evs[i] = evs[i-1]
		i--
	}
	evs[i] = ev
	return evs
}

// note keeps an event that did not decide the probe, up to
// maxKeptEvents; past that it is only counted by why (or, for PMTU and
// soft errors, by effect).
func (m *Machine) note(ev Event) {
	if m.kept >= maxKeptEvents {
		why := ev.Why
		if why == "" {
			why = string(ev.Effect)
		}
		m.rare().countUnlisted(why)
		return
	}
	m.kept++
	m.addEvent(ev)
}

func (m *Machine) ignore(ev Event, why string) Output {
	ev.Effect = EffectIgnored
	ev.Why = why
	m.note(ev)
	m.ignored++
	return Output{}
}

// saveSoft keeps a soft error for the deadline.
func (m *Machine) saveSoft(errno syscall.Errno, why string, from netip.Addr) {
	x := m.rare()
	x.soft, x.softErr, x.softWhy, x.softFrom = true, errno, why, from
}

// SendFailed records that a segment the Machine asked for at now did not
// leave (why says what failed); a SYN leaves the result's attempts. When
// routeErrno is set, the kernel's route lookup before a retransmission
// failed with it (inet_sk_rebuild_header): under the linux profile it is
// saved as a soft error, as the kernel saves it in sk_err_soft, so the
// probe reports it at the deadline unless an answer comes first (measured
// on 6.18: a route deleted, or replaced by unreachable, blackhole or
// prohibit, after the first SYN ends connect() at its give-up time with
// ENETUNREACH, EHOSTUNREACH, EINVAL or EACCES). 4.4BSD's timer drops
// tcp_output's error in SYN_SENT: the other profiles time out.
func (m *Machine) SendFailed(flags wire.Flags, seq uint32, why string, routeErrno syscall.Errno, now time.Time) {
	ev := Event{Time: now, Dir: Sent, Flags: flags, Seq: seq, Effect: EffectIgnored, Why: "send-failed: " + why}
	if routeErrno != 0 && m.linux() && !m.done && flags&wire.SYN != 0 {
		reason := RouteReason(routeErrno)
		ev.Effect, ev.Errno, ev.Reason = EffectSoft, routeErrno, reason
		m.saveSoft(routeErrno, reason, netip.Addr{})
	}
	m.addEvent(ev)
	if flags&wire.SYN == 0 {
		return
	}
	// The last attempt still counted leaves the result's list.
	for i := len(m.attempts) - 1; i >= 0; i-- {
		if !m.attempts[i].failed {
			m.attempts[i].failed = true
			if m.res != nil {
				m.res.Attempts = m.res.Attempts[:len(m.res.Attempts)-1]
			}
			break
		}
	}
}

// Dropped records a packet of this probe's 4-tuple that the receive path
// (package rx) dropped at now, why being the drop's machine word: it is
// counted in Ignored and listed like an ignored packet. It never changes
// the outcome.
func (m *Machine) Dropped(why string, from netip.Addr, ttl uint8, isICMP bool, now time.Time) {
	if m.done {
		return
	}
	m.ignore(Event{Time: now, Dir: Received, From: from, TTL: ttl, ICMP: isICMP}, why)
}

// ICMPInfo is a received ICMP error whose quote names the probe's 4-tuple.
type ICMPInfo struct {
	Msg        *icmp.Message
	From       netip.Addr
	TTL        uint8
	ChecksumOK bool
}

// quoteSeqOK is the ICMP quote's sequence check. Linux (tcp_v4_err,
// tcp_v6_err) drops the message unless between(seq, snd_una, snd_nxt),
// inclusive: in SYN_SENT (and SYN_RECV) snd_una = ISS and snd_nxt = ISS+1,
// so a quote of ISS+1 is taken too, which is why the kernel reports
// EHOSTUNREACH for it. RFC 5927 §4.1 and FreeBSD take exactly ISS; the
// classic and bsd profiles do (4.4BSD itself checks no sequence number).
func (m *Machine) quoteSeqOK(seq uint32) bool {
	if m.linux() {
		return seq-m.iss <= 1
	}
	return seq == m.iss
}

// HandleICMP applies an ICMP error received at now: the quote must carry
// an acceptable sequence number (quoteSeqOK); then the profile's errno
// table and ICMP policy say whether it is ignored, path-MTU information,
// saved as a soft error or ends the probe at once.
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
	if !m.quoteSeqOK(msg.Quote.Seq) {
		return m.ignore(ev, IgnoredQuoteSeq)
	}
	switch v.Class {
	case icmp.Ignore:
		return m.ignore(ev, IgnoredICMPType)
	case icmp.PathMTU:
		ev.Effect = EffectPMTU
		ev.Errno = v.Errno
		m.note(ev)
		return Output{}
	}
	ev.Errno = v.Errno
	hard := m.prof.ICMP == ICMPHard || (m.prof.ICMP == ICMPRFC1122 && v.Hard)
	if !hard {
		ev.Effect = EffectSoft
		m.note(ev)
		m.saveSoft(v.Errno, v.Reason, in.From)
		return Output{}
	}
	m.decide(ev, now, OutcomeOf(v.Errno), v.Errno, v.Reason, in.From)
	return Output{Done: true}
}
