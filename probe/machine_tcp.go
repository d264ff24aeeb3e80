package probe

import (
	"net/netip"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/wire"
)

// TCPInfo is a received TCP segment as the driver hands it to a Machine.
type TCPInfo struct {
	Seg        *wire.Segment
	From       netip.Addr
	TTL        uint8
	ChecksumOK bool
}

// synRecvWindow is the receive window a Machine assumes in SYN_RECV for
// the sequence check of tcp_validate_incoming (tcp_sequence): the window
// of Linux's SYN, 64240 bytes for an MSS of 1460, rounded up.
const synRecvWindow = 65535

// HandleTCP applies the SYN_SENT acceptance rules (spec §2.1, §2.2, in the
// order of Linux's tcp_rcv_synsent_state_process) to a segment of the
// probe's 4-tuple received at now, and the SYN_RECV rules after a
// simultaneous open.
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
	if m.state == synRecv {
		return m.handleSynRecv(in, ev, now)
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
		out := m.answer(ev, IgnoredBadACK, seg.Ack, now)
		if m.linux() && len(m.attempts) == 1 {
			// "Previous FIN/ACK or RST/ACK might be ignored": with no
			// retransmission yet, Linux re-arms the retransmit timer at
			// TCP_TIMEOUT_MIN, so the SYN goes out again at once.
			syn := m.sendSYN(now)
			out.SendSYN, out.TSVal = true, syn.TSVal
		}
		return out
	case hasACK && m.pawsReject(seg, now):
		// PAWS (LINUX_MIB_PAWSACTIVEREJECTED): reset_and_undo, like a bad
		// ACK but without the early retransmission.
		if hasRST {
			return m.ignore(ev, IgnoredPAWS)
		}
		return m.answer(ev, IgnoredPAWS, seg.Ack, now)
	case hasACK && hasRST:
		// The RST's own sequence number is not checked (spec §2.1 rule 3).
		ev.Errno = syscall.ECONNREFUSED
		m.decide(ev, now, Refused, syscall.ECONNREFUSED, ReasonRST, in.From)
		return Output{Done: true}
	case hasACK && hasSYN:
		m.echo, m.hasEcho = seg.Options.TSEcr, seg.Options.HasTimestamps
		m.decide(ev, now, Open, 0, ReasonSYNACK, in.From)
		m.res.SYNACK = synackOf(seg, in.TTL)
		m.addEvent(Event{Time: now, Dir: Sent, Flags: wire.RST, Seq: want, Effect: EffectTeardown})
		m.res.Teardown = true
		return Output{SendRST: true, RSTSeq: want, Done: true}
	case hasACK:
		return m.ignore(ev, IgnoredBareACK)
	case hasRST:
		return m.ignore(ev, IgnoredRSTNoACK)
	case hasSYN:
		// A SYN without ACK: simultaneous open (spec §2.2). Linux, RFC 9293
		// and 4.4BSD all go to SYN_RECV and answer <SEQ=ISS><ACK=SEG.SEQ+1>
		// <CTL=SYN,ACK> (tcp_send_synack); the schedule goes on with that
		// SYN-ACK in place of the SYN.
		m.state, m.irs = synRecv, seg.Seq
		m.rare().synack = synackOf(seg, in.TTL)
		ev.Effect = EffectSynRecv
		m.addEvent(ev)
		return m.sendSYN(now)
	default:
		return m.ignore(ev, IgnoredNoFlags)
	}
}

func synackOf(seg *wire.Segment, ttl uint8) *SYNACK {
	return &SYNACK{
		Seq: seg.Seq, TTL: ttl, Window: seg.Window, Options: seg.Options,
		ECE: seg.Flags&wire.ECE != 0, CWR: seg.Flags&wire.CWR != 0,
	}
}

// answer ignores ev for why and answers it with <SEQ=seq><CTL=RST>.
func (m *Machine) answer(ev Event, why string, seq uint32, now time.Time) Output {
	m.ignore(ev, why)
	if m.kept < maxKeptEvents {
		m.kept++
		m.addEvent(Event{Time: now, Dir: Sent, Flags: wire.RST, Seq: seq, Effect: EffectAnswer})
	}
	return Output{SendRST: true, RSTSeq: seq}
}

// pawsReject is the TSecr check of tcp_rcv_synsent_state_process, linux
// profile only (4.4BSD and FreeBSD have none in SYN_SENT): when our SYNs
// carry timestamps, a segment with a non-zero TSecr must echo a TSval
// between our first SYN's and now's.
func (m *Machine) pawsReject(seg *wire.Segment, now time.Time) bool {
	if !m.linux() || !m.opts.Timestamps || !seg.Options.HasTimestamps || seg.Options.TSEcr == 0 || len(m.attempts) == 0 {
		return false
	}
	lo := m.attempts[0].tsval
	return seg.Options.TSEcr-lo > m.tsval(now)-lo
}

// handleSynRecv is SYN_RECV after a simultaneous open, as Linux's
// tcp_rcv_state_process and tcp_validate_incoming run it:
//   - the segment must overlap the window from IRS+1 (tcp_sequence);
//   - an RST with SEQ = IRS+1 resets the attempt: ECONNRESET on Linux
//     (tcp_reset outside SYN_SENT); RFC 9293 §3.10.7.4 and 4.4BSD call a
//     reset of an active open "connection refused": ECONNREFUSED under
//     classic and bsd (bsd takes any SEQ in the window, as 4.4BSD does);
//     another RST gets a challenge ACK and is ignored;
//   - a SYN is ignored (challenge ACK) unless it is the peer's SYN-ACK
//     retransmitted with ACK = ISS+1, which passes as an ACK;
//   - an ACK in [ISS, ISS+1] (Linux's tcp_ack refuses only an ACK before
//     SND.UNA or after SND.NXT; RFC 9293 wants ISS+1) opens the
//     connection, any other ACK is answered with <SEQ=SEG.ACK><RST>.
//
// tcpprobe sends no ACKs: a challenge or duplicate ACK the kernel would
// send is not sent. The SYN-ACK is re-sent on the profile's SYN schedule;
// by its code (tcp_write_timeout, tcp_retransmit_timer) Linux backs off
// exponentially in SYN_RECV and gives up after tcp_syn_retries
// retransmissions in all, the linear ones not added, so after a
// simultaneous open that is never completed its ETIMEDOUT comes earlier
// than this Machine's (not measured).
func (m *Machine) handleSynRecv(in TCPInfo, ev Event, now time.Time) Output {
	seg := in.Seg
	rcvNxt := m.irs + 1
	end := seg.Seq + uint32(seg.PayloadLen)
	if seg.Flags&wire.SYN != 0 {
		end++
	}
	if seg.Flags&wire.FIN != 0 {
		end++
	}
	if int32(end-rcvNxt) < 0 || int32(seg.Seq-(rcvNxt+synRecvWindow)) > 0 {
		return m.ignore(ev, IgnoredOutOfWindow)
	}
	if seg.Flags&wire.RST != 0 {
		switch {
		case m.linux() && seg.Seq == rcvNxt:
			ev.Errno = syscall.ECONNRESET
			m.decide(ev, now, Refused, syscall.ECONNRESET, ReasonRSTSynRecv, in.From)
			return Output{Done: true}
		case !m.linux() && (seg.Seq == rcvNxt || m.prof.Name == ProfileBSD):
			ev.Errno = syscall.ECONNREFUSED
			m.decide(ev, now, Refused, syscall.ECONNREFUSED, ReasonRSTSynRecv, in.From)
			return Output{Done: true}
		}
		return m.ignore(ev, IgnoredRSTSeq)
	}
	if seg.Flags&wire.SYN != 0 {
		if seg.Flags&wire.ACK == 0 || seg.PayloadLen != 0 || seg.Flags&wire.FIN != 0 || seg.Seq+1 != rcvNxt || seg.Ack != m.iss+1 {
			return m.ignore(ev, IgnoredSYNChallenge)
		}
	}
	if seg.Flags&wire.ACK == 0 {
		return m.ignore(ev, IgnoredNoFlags)
	}
	ok := seg.Ack == m.iss+1
	if m.linux() {
		ok = seg.Ack-m.iss <= 1
	}
	if !ok {
		return m.answer(ev, IgnoredBadACK, seg.Ack, now)
	}
	m.echo, m.hasEcho = seg.Options.TSEcr, seg.Options.HasTimestamps
	m.decide(ev, now, Open, 0, ReasonSimultaneous, in.From)
	m.addEvent(Event{Time: now, Dir: Sent, Flags: wire.RST, Seq: m.iss + 1, Effect: EffectTeardown})
	m.res.Teardown = true
	return Output{SendRST: true, RSTSeq: m.iss + 1, Done: true}
}
