package lifecycle

import (
	"net/netip"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/icmp"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/wire"
)

// Why an ACK probe ignored a packet.
const (
	IgnoredRSTSeq     = "rst-seq"      // an RST whose SEQ is not our ACK number (RFC 9293 §3.10.7.1)
	IgnoredNotRST     = "not-rst"      // a segment of our 4-tuple without RST
	IgnoredMalformed  = "malformed"    // the IP, TCP or ICMP header did not parse
	IgnoredQuoteOther = "icmp-quote"   // an ICMP error quoting another segment
	IgnoredICMPNoEnd  = "icmp-ignored" // an ICMP message that ends no probe (PMTU, redirect, …)
)

// ackProbe is one bare ACK in flight: <SEQ=seq><ACK=ack><CTL=ACK> from src
// to dst. A live TCP answers it, listening or not, with <SEQ=ack><CTL=RST>
// (RFC 9293 §3.10.7.1 for CLOSED, §3.10.7.2 for LISTEN).
type ackProbe struct {
	src, dst netip.AddrPort
	seq, ack uint32
}

// ackVerdict is what one received packet did to an ACK probe.
type ackVerdict struct {
	event   probe.Event
	match   bool // the packet concerns this probe (event is worth listing)
	decided bool
	outcome probe.Outcome
	errno   syscall.Errno
	reason  string
}

// handle classifies pkt, an IP packet received at now; checksumOK says the
// link vouched for the transport checksum (not ready or already verified).
// It is pure: no socket, no clock.
func (p *ackProbe) handle(pkt []byte, now time.Time, checksumOK bool) ackVerdict {
	var v ackVerdict
	var ip wire.IPInfo
	payload, err := wire.ParseIP(pkt, &ip)
	if err != nil || ip.Fragment {
		return v
	}
	v.event = probe.Event{Time: now, Dir: probe.Received, From: ip.Src, TTL: ip.TTL}
	switch ip.Protocol {
	case wire.ProtocolTCP:
		var s wire.Segment
		if wire.ParseTCP(payload, &s) != nil {
			return v
		}
		if ip.Src != p.dst.Addr() || ip.Dst != p.src.Addr() || s.SrcPort != p.dst.Port() || s.DstPort != p.src.Port() {
			return v // another connection's
		}
		v.match = true
		v.event.Flags, v.event.Seq, v.event.Ack = s.Flags, s.Seq, s.Ack
		switch {
		case !checksumOK && !wire.TCPChecksumValid(ip.Src, ip.Dst, payload):
			v.event.Effect, v.event.Why = probe.EffectIgnored, probe.IgnoredBadChecksum
		case s.Flags&wire.RST == 0:
			v.event.Effect, v.event.Why = probe.EffectIgnored, IgnoredNotRST
		case s.Seq != p.ack:
			v.event.Effect, v.event.Why = probe.EffectIgnored, IgnoredRSTSeq
		default:
			v.event.Effect = probe.EffectDecided
			v.decided, v.outcome, v.reason = true, probe.Unfiltered, probe.ReasonRST
		}
		return v
	case 1, 58: // ICMP, ICMPv6
		if (ip.Protocol == 1) != ip.Src.Is4() {
			return v
		}
		var m icmp.Message
		if err := icmp.Parse(payload, ip.Version == 6, ip.Src, ip.Dst, !checksumOK, &m); err != nil {
			return v
		}
		if !m.Quote.Matches(p.src.Addr(), p.dst.Addr(), p.src.Port(), p.dst.Port(), p.seq) {
			return v
		}
		v.match = true
		verdict := icmp.Linux(&m)
		v.event.ICMP, v.event.ICMPType, v.event.ICMPCode = true, m.Type, m.Code
		v.event.Seq, v.event.Reason, v.event.Errno = m.Quote.Seq, verdict.Reason, verdict.Errno
		if verdict.Class != icmp.Error {
			v.event.Effect, v.event.Why = probe.EffectIgnored, IgnoredICMPNoEnd
			return v
		}
		v.event.Effect = probe.EffectDecided
		v.decided, v.outcome, v.errno, v.reason = true, probe.Filtered, verdict.Errno, verdict.Reason
	}
	return v
}
