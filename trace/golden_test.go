package trace

import (
	"encoding/binary"
	"net/netip"
	"testing"

	xicmp "golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/tcpprobe/tcpprobe/internal/spoof"
	"github.com/tcpprobe/tcpprobe/wire"
)

// The flow of every golden: client → server port 80 from port 40000, ISS
// 1000 (queries 1000, 1001, …).
var (
	client4 = netip.MustParseAddr("198.18.40.2")
	server4 = netip.MustParseAddr("198.18.44.2")
	router4 = netip.MustParseAddr("198.18.41.2")
	client6 = netip.MustParseAddr("fd00:40::2")
	server6 = netip.MustParseAddr("fd00:44::2")
	router6 = netip.MustParseAddr("fd00:41::2")
)

const (
	goldenSport = 40000
	goldenDport = 80
	goldenISS   = 1000
)

// goldenFlow returns the flow with queries ISS..ISS+2 sent at TTL 2.
func goldenFlow(t testing.TB, v6 bool) *flow {
	src, dst := client4, server4
	if v6 {
		src, dst = client6, server6
	}
	f := &flow{src: src, dst: dst, sport: goldenSport, dport: goldenDport, sent: map[uint32][]byte{}}
	for i := range uint32(3) {
		f.sent[goldenISS+i] = syn(t, src, dst, goldenISS+i, 2)
	}
	return f
}

// syn encodes the SYN of query seq with ttl.
func syn(t testing.TB, src, dst netip.Addr, seq uint32, ttl uint8) []byte {
	b := make([]byte, wire.MaxSegmentLen)
	n, err := wire.EncodeSegment(b, &wire.SegmentSpec{Src: src, Dst: dst, TTL: ttl, ID: uint16(seq - goldenISS),
		SrcPort: goldenSport, DstPort: goldenDport, Seq: seq, Flags: wire.SYN, Window: 64240,
		Options: wire.Options{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 7, HasWScale: true, WScale: 7}})
	if err != nil {
		t.Fatal(err)
	}
	return b[:n]
}

// segment encodes an IP packet with a TCP segment from the server to the
// client.
func segment(t testing.TB, src, dst netip.Addr, sport uint16, flags wire.Flags, ack uint32, o wire.Options) []byte {
	b := make([]byte, wire.MaxSegmentLen)
	n, err := wire.EncodeSegment(b, &wire.SegmentSpec{Src: src, Dst: dst, SrcPort: sport, DstPort: goldenSport,
		Seq: 555, Ack: ack, Flags: flags, Window: 65160, Options: o})
	if err != nil {
		t.Fatal(err)
	}
	return b[:n]
}

// icmpPacket wraps an ICMP error of type typ/code quoting quote (as a
// router at TTL exhaustion would: TTL 1) in an IP packet from src to dst,
// with an MPLS label stack extension when labels are given.
func icmpPacket(t testing.TB, v6 bool, src, dst netip.Addr, typ, code int, quote []byte, labels []xicmp.MPLSLabel) []byte {
	q := append([]byte(nil), quote...)
	if v6 {
		q[7] = 1
	} else {
		q[8] = 1
		binary.BigEndian.PutUint16(q[10:], 0)
		binary.BigEndian.PutUint16(q[10:], wire.Fold(wire.Sum(q[:20], 0)))
	}
	var exts []xicmp.Extension
	if len(labels) > 0 {
		exts = []xicmp.Extension{&xicmp.MPLSLabelStack{Class: 1, Type: 1, Labels: labels}}
	}
	m := xicmp.Message{Code: code}
	proto := 1
	if v6 {
		proto = 58
		m.Type = ipv6.ICMPType(typ)
	} else {
		m.Type = ipv4.ICMPType(typ)
	}
	if typ == 11 || (v6 && typ == 3) {
		m.Body = &xicmp.TimeExceeded{Data: q, Extensions: exts}
	} else {
		m.Body = &xicmp.DstUnreach{Data: q, Extensions: exts}
	}
	var psh []byte
	if v6 {
		psh = xicmp.IPv6PseudoHeader(src.AsSlice(), dst.AsSlice())
	}
	body, err := m.Marshal(psh)
	if err != nil {
		t.Fatal(err)
	}
	return ipWrap(src, dst, byte(proto), body)
}

// ipWrap puts payload behind an IPv4 or IPv6 header from src to dst.
func ipWrap(src, dst netip.Addr, proto byte, payload []byte) []byte {
	return spoof.Packet{Src: src, Dst: dst, Proto: proto, TTL: 62, L4: payload}.Bytes()
}

// golden is one received packet and what classify must make of it.
type golden struct {
	name string
	v6   bool
	pkt  []byte
	// want
	kind      string // "" with why: ignored
	why       string // "": accepted (or errNotOurs with kind "")
	seq       uint32
	mpls      int
	rewritten []string
	sendRST   bool
}

func goldens(t testing.TB) []golden {
	var gs []golden
	for _, v6 := range []bool{false, true} {
		fam, c, s, r := "v4", client4, server4, router4
		teType, unType, adminCode := 11, 3, 13
		if v6 {
			fam, c, s, r = "v6", client6, server6, router6
			teType, unType, adminCode = 3, 1, 1
		}
		sent := syn(t, c, s, goldenISS+1, 2)
		// A NAT in front rewrote the source: the quote says so.
		nat := syn(t, netip.MustParseAddr(map[bool]string{false: "198.18.41.100", true: "fd00:41::100"}[v6]), s, goldenISS+1, 2)
		foreign := syn(t, c, s, goldenISS+77, 2)
		otherDst := syn(t, c, r, goldenISS+1, 2)
		opts := wire.Options{HasMSS: true, MSS: 1460, HasTimestamps: true, TSVal: 99, TSEcr: 7}
		gs = append(gs,
			golden{name: fam + "-time-exceeded", v6: v6, pkt: icmpPacket(t, v6, r, c, teType, 0, sent, nil),
				kind: KindTimeExceeded, seq: goldenISS + 1},
			golden{name: fam + "-time-exceeded-mpls", v6: v6, pkt: icmpPacket(t, v6, r, c, teType, 0, sent,
				[]xicmp.MPLSLabel{{Label: 16001, TC: 0, S: false, TTL: 1}, {Label: 24, TC: 5, S: true, TTL: 1}}),
				kind: KindTimeExceeded, seq: goldenISS + 1, mpls: 2},
			golden{name: fam + "-admin-prohibited", v6: v6, pkt: icmpPacket(t, v6, r, c, unType, adminCode, sent, nil),
				kind: KindUnreachable, seq: goldenISS + 1},
			golden{name: fam + "-quote-rewritten", v6: v6, pkt: icmpPacket(t, v6, r, c, teType, 0, nat, nil),
				kind: KindTimeExceeded, seq: goldenISS + 1, rewritten: []string{"source", "tcp-checksum"}},
			golden{name: fam + "-forged-seq", v6: v6, pkt: icmpPacket(t, v6, r, c, teType, 0, foreign, nil), why: whyQuoteSeq},
			golden{name: fam + "-forged-dst", v6: v6, pkt: icmpPacket(t, v6, r, c, teType, 0, otherDst, nil), why: whyQuoteAddr},
			golden{name: fam + "-syn-ack", v6: v6, pkt: segment(t, s, c, goldenDport, wire.SYN|wire.ACK, goldenISS+3, opts),
				kind: KindSYNACK, seq: goldenISS + 2, sendRST: true},
			golden{name: fam + "-syn-ack-bad-ack", v6: v6, pkt: segment(t, s, c, goldenDport, wire.SYN|wire.ACK, 5, opts),
				why: whyBadACK, sendRST: true},
			golden{name: fam + "-rst", v6: v6, pkt: segment(t, s, c, goldenDport, wire.RST|wire.ACK, goldenISS+1, wire.Options{}),
				kind: KindRST, seq: goldenISS},
			golden{name: fam + "-rst-without-ack", v6: v6, pkt: segment(t, s, c, goldenDport, wire.RST, goldenISS+1, wire.Options{}),
				why: whyRSTNoACK},
			golden{name: fam + "-challenge-ack", v6: v6, pkt: segment(t, s, c, goldenDport, wire.ACK, goldenISS+1, wire.Options{}),
				why: whyChallenge, sendRST: true},
			golden{name: fam + "-other-port", v6: v6, pkt: segment(t, s, c, 81, wire.RST|wire.ACK, goldenISS+1, wire.Options{})},
		)
	}
	return gs
}
