package rx

import (
	"encoding/binary"
	"net/netip"

	"github.com/tcpprobe/tcpprobe/wire"
)

// The lab's addresses: the probing client and the server it probes.
var (
	client4 = netip.MustParseAddr("198.18.0.2")
	server4 = netip.MustParseAddr("198.18.2.2")
	router4 = netip.MustParseAddr("198.18.1.1")
	client6 = netip.MustParseAddr("fd00::2")
	server6 = netip.MustParseAddr("fd00:2::2")
	router6 = netip.MustParseAddr("fd00:1::1")
)

const (
	clientPort = 40000
	serverPort = 80
	iss        = 0x11223344
)

// tuple4 and tuple6 are the probe's 4-tuple.
var (
	tuple4 = Tuple{Local: client4, Remote: server4, LocalPort: clientPort, RemotePort: serverPort}
	tuple6 = Tuple{Local: client6, Remote: server6, LocalPort: clientPort, RemotePort: serverPort}
)

// tcpSeg returns a TCP header (with opts, padded to 4 bytes) and payload
// from the server to the client, checksummed for src → dst.
func tcpSeg(src, dst netip.Addr, flags wire.Flags, opts []byte, payload []byte) []byte {
	for len(opts)%4 != 0 {
		opts = append(opts, wire.OptEOL)
	}
	t := make([]byte, wire.TCPMinLen+len(opts)+len(payload))
	binary.BigEndian.PutUint16(t[wire.TCPSrcPortOffset:], serverPort) // server port
	binary.BigEndian.PutUint16(t[wire.TCPDstPortOffset:], clientPort) // our port
	binary.BigEndian.PutUint32(t[wire.TCPSeqOffset:], 0xa0b0c0d0)     // IRS
	binary.BigEndian.PutUint32(t[wire.TCPAckOffset:], iss+1)          // ACK = ISS+1
	t[wire.TCPDataOffsetOffset] = byte((wire.TCPMinLen+len(opts))/4) << 4
	t[wire.TCPFlagsOffset] = byte(flags)
	binary.BigEndian.PutUint16(t[wire.TCPWindowOffset:], 65160) // window
	copy(t[wire.TCPMinLen:], opts)
	copy(t[wire.TCPMinLen+len(opts):], payload)
	fixTCP(src, dst, t)
	return t
}

func fixTCP(src, dst netip.Addr, t []byte) {
	binary.BigEndian.PutUint16(t[wire.TCPChecksumOffset:], 0)
	sum := wire.PseudoHeaderSum(src, dst, wire.ProtocolTCP, len(t))
	binary.BigEndian.PutUint16(t[wire.TCPChecksumOffset:], wire.Fold(wire.Sum(t, sum)))
}

// ipv4 returns an IPv4 header with options opts from src to dst carrying
// payload, total length and checksum filled in; edit, if not nil, changes
// the header before the checksum is computed.
func ipv4(src, dst netip.Addr, proto uint8, opts, payload []byte, edit func(h []byte)) []byte {
	hlen := wire.IPv4MinLen + len(opts)
	b := make([]byte, hlen+len(payload))
	b[0] = 4<<4 | byte(hlen/4)                                              // version 4, IHL
	binary.BigEndian.PutUint16(b[wire.IPv4TotalLenOffset:], uint16(len(b))) // total length
	binary.BigEndian.PutUint16(b[wire.IPv4IDOffset:], 0x1234)               // ID
	binary.BigEndian.PutUint16(b[wire.IPv4FlagsFragOffset:], wire.IPv4FlagDF)
	b[wire.IPv4TTLOffset] = 63 // one router away
	b[wire.IPv4ProtocolOffset] = proto
	s, d := src.As4(), dst.As4()
	copy(b[wire.IPv4SrcOffset:], s[:])
	copy(b[wire.IPv4DstOffset:], d[:])
	copy(b[wire.IPv4MinLen:], opts)
	copy(b[hlen:], payload)
	if edit != nil {
		edit(b)
	}
	fixIPv4(b)
	return b
}

func fixIPv4(b []byte) {
	hlen := int(b[0]&0xf) * 4
	binary.BigEndian.PutUint16(b[wire.IPv4ChecksumOffset:], 0)
	binary.BigEndian.PutUint16(b[wire.IPv4ChecksumOffset:], wire.Fold(wire.Sum(b[:hlen], 0)))
}

// ipv6 returns an IPv6 packet from src to dst whose first next header is
// nh, followed by rest (extension headers, then the upper layer).
func ipv6(src, dst netip.Addr, nh uint8, rest ...[]byte) []byte {
	b := make([]byte, wire.IPv6Len)
	b[0] = 6 << 4 // version 6
	b[wire.IPv6NextHeaderOffset] = nh
	b[wire.IPv6HopLimitOffset] = 63
	s, d := src.As16(), dst.As16()
	copy(b[wire.IPv6SrcOffset:], s[:])
	copy(b[wire.IPv6DstOffset:], d[:])
	for _, r := range rest {
		b = append(b, r...)
	}
	binary.BigEndian.PutUint16(b[wire.IPv6PayloadLenOffset:], uint16(len(b)-wire.IPv6Len))
	return b
}

// optsHdr returns a hop-by-hop or destination options header whose next
// header is next holding opts, padded with PadN/Pad1 to 8 bytes.
func optsHdr(next uint8, opts ...byte) []byte {
	b := append([]byte{next, 0}, opts...)
	switch pad := (8 - len(b)%8) % 8; {
	case pad == 1:
		b = append(b, tlvPad1)
	case pad >= 2:
		b = append(b, tlvPadN, byte(pad-2))
		b = append(b, make([]byte, pad-2)...)
	}
	b[1] = byte(len(b)/8 - 1)
	return b
}

// rtHdr returns a routing header of type typ with segments left left and
// one address.
func rtHdr(next, typ, left uint8) []byte {
	b := make([]byte, 24)
	b[0], b[1], b[2], b[3] = next, 2, typ, left // next, length 2 (24 bytes), type, segments left
	return b
}

// fragHdr returns an IPv6 fragment header.
func fragHdr(next uint8, off int, more bool, id uint32) []byte {
	b := make([]byte, 8)
	b[0] = next
	w := uint16(off) &^ 7
	if more {
		w |= 1
	}
	binary.BigEndian.PutUint16(b[2:], w)
	binary.BigEndian.PutUint32(b[4:], id)
	return b
}

// synack4 and synack6 are the golden SYN-ACKs from the server to the
// probe.
func synack4() []byte {
	return ipv4(server4, client4, wire.ProtocolTCP, nil, tcpSeg(server4, client4, wire.SYN|wire.ACK, mssOpt, nil), nil)
}

func synack6() []byte {
	return ipv6(server6, client6, wire.ProtocolTCP, tcpSeg(server6, client6, wire.SYN|wire.ACK, mssOpt, nil))
}

var mssOpt = []byte{wire.OptMSS, wire.OptMSSLen, 0x05, 0xb4} // MSS 1460

// quoteSYN4 is what an ICMP error quotes of our SYN: its IPv4 header and
// the first 8 bytes of TCP (ports, sequence number seq).
func quoteSYN4(seq uint32) []byte {
	t := make([]byte, 8)
	binary.BigEndian.PutUint16(t[0:], clientPort)
	binary.BigEndian.PutUint16(t[2:], serverPort)
	binary.BigEndian.PutUint32(t[4:], seq)
	h := ipv4(client4, server4, wire.ProtocolTCP, nil, t, nil)
	binary.BigEndian.PutUint16(h[wire.IPv4TotalLenOffset:], 60) // the SYN was 60 bytes
	fixIPv4(h)
	return h
}

func quoteSYN6(seq uint32) []byte {
	t := make([]byte, 8)
	binary.BigEndian.PutUint16(t[0:], clientPort)
	binary.BigEndian.PutUint16(t[2:], serverPort)
	binary.BigEndian.PutUint32(t[4:], seq)
	return ipv6(client6, server6, wire.ProtocolTCP, t)
}

// icmpErr returns an ICMP (v6: ICMPv6) message of type/code quoting q,
// checksummed for src → dst.
func icmpErr(v6 bool, src, dst netip.Addr, typ, code uint8, q []byte) []byte {
	m := make([]byte, 8+len(q))
	m[0], m[1] = typ, code
	copy(m[8:], q)
	var sum uint32
	if v6 {
		sum = wire.PseudoHeaderSum(src, dst, wire.ProtocolICMPv6, len(m))
	}
	binary.BigEndian.PutUint16(m[2:], wire.Fold(wire.Sum(m, sum)))
	return m
}

func unreach4(q []byte) []byte {
	return ipv4(router4, client4, wire.ProtocolICMP, nil, icmpErr(false, router4, client4, 3, 1, q), nil)
}

func unreach6(q []byte, exts ...[]byte) []byte {
	return ipv6(router6, client6, wire.ProtocolICMPv6, icmpErr(true, router6, client6, 1, 3, q))
}

// cat joins byte slices.
func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func netip4(a, b, c, d byte) netip.Addr { return netip.AddrFrom4([4]byte{a, b, c, d}) }
