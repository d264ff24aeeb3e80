package icmp

import (
	"encoding/binary"
	"net/netip"
)

// Golden ICMP messages, written out field by field. They answer a probe
// SYN from probeSrc:probeSport to probeDst:probeDport with ISS probeISS.
// Every checksum is the real one (TestGoldenChecksums recomputes them with
// an independent RFC 1071 loop; TestGoldenXNet re-marshals with x/net/icmp).

var (
	probeSrc4  = netip.MustParseAddr("198.18.0.1")   // the prober
	probeDst4  = netip.MustParseAddr("198.19.0.2")   // the target
	router4    = netip.MustParseAddr("198.18.0.254") // outer source of router errors
	probeSrc6  = netip.MustParseAddr("fd00::1")
	probeDst6  = netip.MustParseAddr("fd00:0:0:1::2")
	router6    = netip.MustParseAddr("fd00::fe")
	probeSport = uint16(40000) // 0x9c40
	probeDport = uint16(80)    // 0x0050
	probeISS   = uint32(0x12345678)
)

// goldenV4PortUnreach: the target's firewall rejects our SYN with port
// unreachable (iptables REJECT's default) and quotes it. Outer packet
// 198.19.0.2 → 198.18.0.1.
var goldenV4PortUnreach = []byte{
	// ICMP header
	0x03,       // type 3: destination unreachable
	0x03,       // code 3: port unreachable
	0xf7, 0xbf, // checksum
	0x00, 0x00, 0x00, 0x00, // unused
	// quoted IPv4 header (20 bytes, as the target received it)
	0x45,       // version 4, IHL 5
	0x00,       // DSCP/ECN
	0x00, 0x3c, // total length 60 (SYN with 20 bytes of options; quote is cut)
	0x1c, 0x46, // identification
	0x40, 0x00, // flags DF, fragment offset 0
	0x3f,       // TTL 63
	0x06,       // protocol TCP
	0x93, 0x4d, // header checksum
	0xc6, 0x12, 0x00, 0x01, // source 198.18.0.1
	0xc6, 0x13, 0x00, 0x02, // destination 198.19.0.2
	// first 8 bytes of the quoted TCP header
	0x9c, 0x40, // source port 40000
	0x00, 0x50, // destination port 80
	0x12, 0x34, 0x56, 0x78, // sequence number = ISS
}

// goldenV4FragNeeded: a router (198.18.0.254) cannot forward with DF set;
// next-hop MTU 1400 (RFC 1191).
var goldenV4FragNeeded = []byte{
	// ICMP header
	0x03,       // type 3: destination unreachable
	0x04,       // code 4: fragmentation needed and DF set
	0xf2, 0x46, // checksum
	0x00, 0x00, // unused
	0x05, 0x78, // next-hop MTU 1400
	// quoted IPv4 header
	0x45,       // version 4, IHL 5
	0x00,       // DSCP/ECN
	0x00, 0x3c, // total length 60
	0x1c, 0x46, // identification
	0x40, 0x00, // flags DF
	0x3f,       // TTL 63
	0x06,       // protocol TCP
	0x93, 0x4d, // header checksum
	0xc6, 0x12, 0x00, 0x01, // source 198.18.0.1
	0xc6, 0x13, 0x00, 0x02, // destination 198.19.0.2
	// first 8 bytes of TCP
	0x9c, 0x40, // source port 40000
	0x00, 0x50, // destination port 80
	0x12, 0x34, 0x56, 0x78, // sequence number
}

// goldenV4Options: host unreachable from a router, quoting a datagram whose
// IPv4 header carries a 4-byte Router Alert option (IHL 6).
var goldenV4Options = []byte{
	// ICMP header
	0x03,       // type 3: destination unreachable
	0x01,       // code 1: host unreachable
	0xf7, 0xc1, // checksum
	0x00, 0x00, 0x00, 0x00, // unused
	// quoted IPv4 header (24 bytes)
	0x46,       // version 4, IHL 6
	0x00,       // DSCP/ECN
	0x00, 0x40, // total length 64
	0x1c, 0x47, // identification
	0x40, 0x00, // flags DF
	0x3f,       // TTL 63
	0x06,       // protocol TCP
	0xfe, 0x43, // header checksum
	0xc6, 0x12, 0x00, 0x01, // source 198.18.0.1
	0xc6, 0x13, 0x00, 0x02, // destination 198.19.0.2
	0x94, 0x04, 0x00, 0x00, // option: Router Alert (RFC 2113), length 4, value 0
	// first 8 bytes of TCP
	0x9c, 0x40, // source port 40000
	0x00, 0x50, // destination port 80
	0x12, 0x34, 0x56, 0x78, // sequence number
}

// goldenV6AddrUnreach: a router (fd00::fe) failed neighbour discovery for
// the target. Outer packet fd00::fe → fd00::1.
var goldenV6AddrUnreach = []byte{
	// ICMPv6 header
	0x01,       // type 1: destination unreachable
	0x03,       // code 3: address unreachable
	0x9d, 0xdf, // checksum (pseudo-header fd00::fe → fd00::1, next header 58)
	0x00, 0x00, 0x00, 0x00, // unused
	// quoted IPv6 header (40 bytes)
	0x60, 0x00, 0x00, 0x00, // version 6, traffic class 0, flow label 0
	0x00, 0x28, // payload length 40 (TCP with options; quote is cut)
	0x06,                                           // next header TCP
	0x3f,                                           // hop limit 63
	0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // source fd00::1
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // destination fd00:0:0:1::2
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	// first 8 bytes of TCP
	0x9c, 0x40, // source port 40000
	0x00, 0x50, // destination port 80
	0x12, 0x34, 0x56, 0x78, // sequence number
}

// goldenV6HopByHop: port unreachable from the target (fd00:0:0:1::2),
// quoting a datagram with a hop-by-hop options header before TCP.
var goldenV6HopByHop = []byte{
	// ICMPv6 header
	0x01,       // type 1: destination unreachable
	0x04,       // code 4: port unreachable
	0x9d, 0xc5, // checksum (pseudo-header fd00:0:0:1::2 → fd00::1)
	0x00, 0x00, 0x00, 0x00, // unused
	// quoted IPv6 header
	0x60, 0x00, 0x00, 0x00, // version 6
	0x00, 0x30, // payload length 48 (8 hop-by-hop + 40 TCP)
	0x00,                                           // next header 0: hop-by-hop options
	0x3f,                                           // hop limit 63
	0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // source fd00::1
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // destination fd00:0:0:1::2
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	// hop-by-hop options header (8 bytes)
	0x06,                               // next header TCP
	0x00,                               // header extension length 0: 8 bytes
	0x01, 0x04, 0x00, 0x00, 0x00, 0x00, // option PadN, 4 bytes of padding
	// first 8 bytes of TCP
	0x9c, 0x40, // source port 40000
	0x00, 0x50, // destination port 80
	0x12, 0x34, 0x56, 0x78, // sequence number
}

// goldenV6TooBig: a router (fd00::fe) reports packet too big, MTU 1280.
var goldenV6TooBig = []byte{
	// ICMPv6 header
	0x02,       // type 2: packet too big
	0x00,       // code 0
	0x97, 0xe2, // checksum (pseudo-header fd00::fe → fd00::1)
	0x00, 0x00, 0x05, 0x00, // MTU 1280
	// quoted IPv6 header
	0x60, 0x00, 0x00, 0x00, // version 6
	0x00, 0x28, // payload length 40
	0x06,                                           // next header TCP
	0x3f,                                           // hop limit 63
	0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // source fd00::1
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // destination fd00:0:0:1::2
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	// first 8 bytes of TCP
	0x9c, 0x40, // source port 40000
	0x00, 0x50, // destination port 80
	0x12, 0x34, 0x56, 0x78, // sequence number
}

// golden is one golden message with the outer addresses it arrived with
// and what Parse must make of it.
type golden struct {
	name     string
	b        []byte
	v6       bool
	src, dst netip.Addr // outer IP source and destination
	want     Message
}

func goldens() []golden {
	q4 := Quote{Src: probeSrc4, Dst: probeDst4, Protocol: 6, SrcPort: probeSport, DstPort: probeDport, Seq: probeISS}
	q6 := Quote{Src: probeSrc6, Dst: probeDst6, Protocol: 6, SrcPort: probeSport, DstPort: probeDport, Seq: probeISS}
	return []golden{
		{"v4-port-unreachable", goldenV4PortUnreach, false, probeDst4, probeSrc4,
			Message{Type: 3, Code: 3, Quote: q4}},
		{"v4-frag-needed", goldenV4FragNeeded, false, router4, probeSrc4,
			Message{Type: 3, Code: 4, MTU: 1400, Quote: q4}},
		{"v4-quote-with-options", goldenV4Options, false, router4, probeSrc4,
			Message{Type: 3, Code: 1, Quote: q4}},
		{"v6-address-unreachable", goldenV6AddrUnreach, true, router6, probeSrc6,
			Message{V6: true, Type: 1, Code: 3, Quote: q6}},
		{"v6-hop-by-hop", goldenV6HopByHop, true, probeDst6, probeSrc6,
			Message{V6: true, Type: 1, Code: 4, Quote: q6}},
		{"v6-packet-too-big", goldenV6TooBig, true, router6, probeSrc6,
			Message{V6: true, Type: 2, MTU: 1280, Quote: q6}},
	}
}

// naiveChecksum is RFC 1071 written the slow, obvious way, independent of
// package wire: the one's complement of the one's complement sum of b (and,
// for ICMPv6, the RFC 8200 §8.1 pseudo-header), with the checksum field at
// 2..3 taken as zero.
func naiveChecksum(b []byte, v6 bool, src, dst netip.Addr) uint16 {
	var buf []byte
	if v6 {
		s, d := src.As16(), dst.As16()
		buf = append(buf, s[:]...)
		buf = append(buf, d[:]...)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
		buf = append(buf, 0, 0, 0, 58)
	}
	buf = append(buf, b[:2]...)
	buf = append(buf, 0, 0)
	buf = append(buf, b[4:]...)
	if len(buf)%2 == 1 {
		buf = append(buf, 0)
	}
	var sum uint32
	for i := 0; i < len(buf); i += 2 {
		sum += uint32(buf[i])<<8 | uint32(buf[i+1])
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// naiveIPv4HeaderChecksum returns the RFC 791 header checksum of h with
// its checksum field (10..11) taken as zero.
func naiveIPv4HeaderChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		if i == 10 {
			continue
		}
		sum += uint32(h[i])<<8 | uint32(h[i+1])
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
