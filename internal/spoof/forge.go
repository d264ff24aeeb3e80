package spoof

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/rx"
	"github.com/tcpprobe/tcpprobe/wire"
)

// SYN is a probe's SYN as captured: its IP packet and what it says.
type SYN struct {
	IP     wire.IPInfo
	Seg    wire.Segment
	Packet []byte // the whole IP packet, a private copy
}

// ErrNotSYN is returned by ParseSYN for anything but a well-formed TCP SYN
// (no ACK) with a valid checksum.
var ErrNotSYN = errors.New("spoof: not a TCP SYN")

// ParseSYN reads an IP packet and returns it as a SYN, or ErrNotSYN.
func ParseSYN(pkt []byte) (SYN, error) {
	var s SYN
	payload, err := wire.ParseIP(pkt, &s.IP)
	if err != nil || s.IP.Protocol != wire.ProtocolTCP || s.IP.Fragment {
		return SYN{}, ErrNotSYN
	}
	if err := wire.ParseTCP(payload, &s.Seg); err != nil || s.Seg.Flags&(wire.SYN|wire.ACK|wire.RST) != wire.SYN {
		return SYN{}, ErrNotSYN
	}
	if !wire.TCPChecksumValid(s.IP.Src, s.IP.Dst, payload) {
		return SYN{}, ErrNotSYN
	}
	s.Packet = append([]byte(nil), pkt[:s.IP.HeaderLen+len(payload)]...)
	return s, nil
}

// ISS is the probe's initial sequence number.
func (s SYN) ISS() uint32 { return s.Seg.Seq }

// V6 reports whether the SYN is IPv6.
func (s SYN) V6() bool { return s.IP.Version == 6 }

// Reply builds a TCP segment from the SYN's destination back to its
// source, as the target would send it, checksums correct.
func (s SYN) Reply(flags wire.Flags, seq, ack uint32) []byte {
	spec := wire.SegmentSpec{
		Src: s.IP.Dst, Dst: s.IP.Src, TTL: 61,
		SrcPort: s.Seg.DstPort, DstPort: s.Seg.SrcPort,
		Seq: seq, Ack: ack, Flags: flags, Window: 65160,
	}
	if flags&wire.SYN != 0 {
		spec.Options = wire.Options{HasMSS: true, MSS: 1460}
	}
	b := make([]byte, wire.MaxSegmentLen)
	n, err := wire.EncodeSegment(b, &spec)
	if err != nil {
		// The spec comes from a parsed SYN: both addresses of one family.
		panic(fmt.Sprintf("spoof: encoding a reply to %s: %v", s.IP.Src, err))
	}
	return b[:n]
}

// PortUnreachable builds an ICMP port unreachable (IPv4 3/3, IPv6 1/4)
// from `from` to the SYN's source, quoting quote (the SYN's packet, or an
// edited copy of it), checksums correct.
func (s SYN) PortUnreachable(from netip.Addr, quote []byte) []byte {
	if s.V6() {
		return ICMPError(from, s.IP.Src, true, 1, 4, quote)
	}
	return ICMPError(from, s.IP.Src, false, 3, 3, quote)
}

// Quote returns a copy of the SYN's packet to edit and quote.
func (s SYN) Quote() []byte { return append([]byte(nil), s.Packet...) }

// tcpOffset is where the TCP header starts in a packet of this SYN's shape.
func (s SYN) tcpOffset() int { return s.IP.HeaderLen }

// SetSeq rewrites the sequence number of a copy of the SYN (from Quote).
func (s SYN) SetSeq(pkt []byte, seq uint32) []byte {
	binary.BigEndian.PutUint32(pkt[s.tcpOffset()+4:], seq)
	return pkt
}

// SetPorts rewrites the ports of a copy of the SYN (from Quote).
func (s SYN) SetPorts(pkt []byte, src, dst uint16) []byte {
	binary.BigEndian.PutUint16(pkt[s.tcpOffset():], src)
	binary.BigEndian.PutUint16(pkt[s.tcpOffset()+2:], dst)
	return pkt
}

// CorruptTCPChecksum flips bits of the TCP checksum of an IP packet built
// by Reply.
func CorruptTCPChecksum(pkt []byte) []byte {
	off := ipHeaderLen(pkt)
	pkt[off+16] ^= 0x5a
	return pkt
}

// CorruptICMPChecksum flips bits of the ICMP checksum of an IP packet
// built by PortUnreachable.
func CorruptICMPChecksum(pkt []byte) []byte {
	off := ipHeaderLen(pkt)
	pkt[off+2] ^= 0x5a
	return pkt
}

func ipHeaderLen(pkt []byte) int {
	if pkt[0]>>4 == 6 {
		return wire.IPv6Len
	}
	return int(pkt[0]&0x0f) * 4
}

// FixIPv4Checksum recomputes the header checksum of an IPv4 packet after
// an edit, so only the edit is wrong.
func FixIPv4Checksum(pkt []byte) []byte {
	hl := int(pkt[0]&0x0f) * 4
	if hl < 20 || hl > len(pkt) {
		hl = 20
	}
	pkt[10], pkt[11] = 0, 0
	binary.BigEndian.PutUint16(pkt[10:], wire.Fold(wire.Sum(pkt[:hl], 0)))
	return pkt
}

// InsertIPv6Ext inserts an extension header ext (whose first byte, the
// next header, is overwritten with the packet's current next header) right
// after the fixed IPv6 header, sets the fixed header's next header to nh
// and fixes the payload length. Upper-layer checksums stay valid: the
// pseudo-header counts the upper-layer length only.
func InsertIPv6Ext(pkt []byte, nh uint8, ext []byte) []byte {
	out := make([]byte, 0, len(pkt)+len(ext))
	out = append(out, pkt[:wire.IPv6Len]...)
	e := append([]byte(nil), ext...)
	e[0] = out[6]
	out = append(out, e...)
	out = append(out, pkt[wire.IPv6Len:]...)
	out[6] = nh
	binary.BigEndian.PutUint16(out[4:], uint16(len(out)-wire.IPv6Len))
	return out
}

// DestOpts is an 8-byte IPv6 destination options header holding one PadN
// option: a well-formed extension header to put before TCP or ICMPv6.
var DestOpts = []byte{0, 0, 1, 4, 0, 0, 0, 0}

// Forgery is one forged packet and what a correct prober must do with it.
type Forgery struct {
	Name   string // short, for test names
	Packet []byte // IP packet towards the probe
	// Why is the reason the probe's result must give for ignoring it
	// (probe.Ignored*), or "" when the packet names no probe of ours (an
	// ICMP quoting other ports): then it is not in any result at all.
	Why string
	// AnswerSeq, when set, is the sequence number of the <SEQ=SEG.ACK><RST>
	// the prober must send in answer (spec §2.1).
	AnswerSeq *uint32
}

// Forgeries returns every forgery of issue 6 against the SYN s: the TCP
// ones come from the SYN's target, the ICMP ones from router. None is
// acceptable; all but the one quoting other ports belong to the probe.
func Forgeries(s SYN, router netip.Addr) []Forgery {
	iss := s.ISS()
	badAck := iss + 1000
	return []Forgery{
		{Name: "rst-without-ack", Packet: s.Reply(wire.RST, iss+1, 0), Why: probe.IgnoredRSTNoACK},
		{Name: "rst-ack-wrong-ack", Packet: s.Reply(wire.RST|wire.ACK, 0, iss+2), Why: probe.IgnoredBadACK},
		{Name: "syn-ack-wrong-ack", Packet: s.Reply(wire.SYN|wire.ACK, 0x1234, badAck), Why: probe.IgnoredBadACK, AnswerSeq: &badAck},
		{Name: "icmp-quote-wrong-seq", Packet: s.PortUnreachable(router, s.SetSeq(s.Quote(), iss+7)), Why: probe.IgnoredQuoteSeq},
		{Name: "icmp-quote-other-ports", Packet: s.PortUnreachable(router, s.SetPorts(s.Quote(), s.Seg.SrcPort+1, s.Seg.DstPort+1)), Why: ""},
		{Name: "icmp-bad-checksum", Packet: CorruptICMPChecksum(s.PortUnreachable(router, s.Quote())), Why: rx.DropICMPChecksum.String()},
		{Name: "tcp-bad-checksum", Packet: CorruptTCPChecksum(s.Reply(wire.SYN|wire.ACK, 0x1234, iss+1)), Why: rx.DropTCPChecksum.String()},
	}
}
