package spoof

import (
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/tcpprobe/tcpprobe/wire"
)

// Packet describes one IP packet to forge field by field, so that a test
// can get any one field wrong and every other one right. Bytes builds it;
// Fragments cuts it.
type Packet struct {
	Src, Dst netip.Addr // both IPv4 or both IPv6
	Proto    uint8      // upper-layer protocol (wire.ProtocolTCP, 1, 58)
	TTL      uint8      // TTL / hop limit; 0 means 64
	TOS      uint8      // IPv4 TOS / IPv6 traffic class
	ID       uint32     // IPv4 identification (low 16 bits) / IPv6 fragment identification
	NoDF     bool       // IPv4: leave Don't Fragment clear
	Reserved bool       // IPv4: set the reserved ("evil") flag bit
	// IPOptions are raw IPv4 options, padded with EOL to a multiple of 4.
	IPOptions []byte
	// Ext are IPv6 extension headers in order, each complete; its first
	// byte (next header) is filled in by Bytes.
	Ext []Ext
	// L4 is the upper-layer message, checksum included (TCP, ICMP).
	L4 []byte
}

// Ext is one IPv6 extension header: its protocol number (0 hop-by-hop,
// 43 routing, 44 fragment, 60 destination options) and its bytes.
type Ext struct {
	Type  uint8
	Bytes []byte
}

// IPv6 extension header protocol numbers.
const (
	ExtHopByHop = 0
	ExtRouting  = 43
	ExtFragment = 44
	ExtDestOpts = 60
)

// Bytes returns the IP packet.
func (p Packet) Bytes() []byte { return p.build(p.Proto, p.Ext, p.L4, 0, false, true) }

// build writes the IP header for payload, whose protocol after the IPv6
// extension headers ext is proto. An IPv4 packet is a fragment at byte
// offset off with More Fragments when off > 0 or more; withOpts puts the
// IPv4 options in.
func (p Packet) build(proto uint8, ext []Ext, payload []byte, off int, more, withOpts bool) []byte {
	ttl := p.TTL
	if ttl == 0 {
		ttl = 64
	}
	if p.Src.Is4() {
		opts := []byte(nil)
		if withOpts {
			opts = pad4(p.IPOptions)
		}
		hl := 20 + len(opts)
		b := make([]byte, hl+len(payload))
		b[0] = 4<<4 | byte(hl/4)
		b[1] = p.TOS
		binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
		binary.BigEndian.PutUint16(b[4:], uint16(p.ID))
		ff := uint16(off / 8)
		if !p.NoDF && off == 0 && !more {
			ff |= wire.IPv4FlagDF
		}
		if more {
			ff |= wire.IPv4FlagMF
		}
		if p.Reserved {
			ff |= 0x8000
		}
		binary.BigEndian.PutUint16(b[6:], ff)
		b[8], b[9] = ttl, proto
		s, d := p.Src.As4(), p.Dst.As4()
		copy(b[12:], s[:])
		copy(b[16:], d[:])
		copy(b[20:], opts)
		FixIPv4Checksum(b)
		copy(b[hl:], payload)
		return b
	}
	n := 40
	for _, e := range ext {
		n += len(e.Bytes)
	}
	b := make([]byte, n+len(payload))
	binary.BigEndian.PutUint32(b[0:], 6<<28|uint32(p.TOS)<<20)
	binary.BigEndian.PutUint16(b[4:], uint16(len(b)-40))
	b[7] = ttl
	s, d := p.Src.As16(), p.Dst.As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	nhAt, at := 6, 40
	for _, e := range ext {
		b[nhAt] = e.Type
		copy(b[at:], e.Bytes)
		nhAt = at
		at += len(e.Bytes)
	}
	b[nhAt] = proto
	copy(b[at:], payload)
	return b
}

// Fragments cuts the packet's upper-layer message at the byte offsets cuts
// (each a multiple of 8, increasing) and returns the fragments in order.
func (p Packet) Fragments(cuts ...int) [][]byte {
	bounds := append(append([]int{0}, cuts...), len(p.L4))
	var out [][]byte
	for i := 0; i+1 < len(bounds); i++ {
		out = append(out, p.Fragment(bounds[i], bounds[i+1], i+2 < len(bounds)))
	}
	return out
}

// Fragment returns the fragment of the packet holding bytes lo to hi of
// its upper-layer message (lo a multiple of 8), with More Fragments set
// when more: an IPv4 fragment (the options in the first only) or an IPv6
// one (a fragment header after p.Ext, identification p.ID). Fragments
// that overlap or repeat are the caller's to make.
func (p Packet) Fragment(lo, hi int, more bool) []byte {
	if p.Src.Is4() {
		return p.build(p.Proto, nil, p.L4[lo:hi], lo, more, lo == 0)
	}
	fh := make([]byte, 8)
	m := uint16(lo) // the offset in 8-byte units sits in the top 13 bits
	if more {
		m |= 1
	}
	binary.BigEndian.PutUint16(fh[2:], m)
	binary.BigEndian.PutUint32(fh[4:], p.ID)
	ext := append(append([]Ext(nil), p.Ext...), Ext{ExtFragment, fh})
	return p.build(p.Proto, ext, p.L4[lo:hi], 0, false, true)
}

// pad4 pads IPv4 options with EOL to a multiple of 4 bytes.
func pad4(o []byte) []byte {
	for len(o)%4 != 0 {
		o = append(o[:len(o):len(o)], 0)
	}
	return o
}

// TCPSpec describes one TCP segment to forge.
type TCPSpec struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            wire.Flags
	Window           uint16
	Urgent           uint16
	Options          []byte // raw options, a multiple of 4 bytes (the caller pads)
	Payload          []byte
	// DataOffset, when not 0, is written instead of the true header
	// length (in bytes; stored /4).
	DataOffset int
	// BadChecksum stores a wrong checksum.
	BadChecksum bool
}

// TCP encodes the segment from src to dst, checksum over the pseudo-header
// (correct unless BadChecksum).
func TCP(src, dst netip.Addr, s TCPSpec) []byte {
	hl := 20 + len(s.Options)
	b := make([]byte, hl+len(s.Payload))
	binary.BigEndian.PutUint16(b[0:], s.SrcPort)
	binary.BigEndian.PutUint16(b[2:], s.DstPort)
	binary.BigEndian.PutUint32(b[4:], s.Seq)
	binary.BigEndian.PutUint32(b[8:], s.Ack)
	doff := hl
	if s.DataOffset != 0 {
		doff = s.DataOffset
	}
	b[12] = byte(doff/4) << 4
	b[13] = byte(s.Flags)
	binary.BigEndian.PutUint16(b[14:], s.Window)
	binary.BigEndian.PutUint16(b[18:], s.Urgent)
	copy(b[20:], s.Options)
	copy(b[hl:], s.Payload)
	sum := wire.Fold(wire.Sum(b, wire.PseudoHeaderSum(src, dst, wire.ProtocolTCP, len(b))))
	if s.BadChecksum {
		sum ^= 0x5a5a
	}
	binary.BigEndian.PutUint16(b[16:], sum)
	return b
}

// ICMP encodes an ICMP (IPv4) or ICMPv6 error of type typ and code from
// src to dst quoting quote, checksum correct (ICMPv6 over its
// pseudo-header).
func ICMP(src, dst netip.Addr, typ, code uint8, quote []byte) []byte {
	b := make([]byte, 8+len(quote))
	b[0], b[1] = typ, code
	copy(b[8:], quote)
	var init uint32
	if src.Is6() {
		init = wire.PseudoHeaderSum(src, dst, 58, len(b))
	}
	binary.BigEndian.PutUint16(b[2:], wire.Fold(wire.Sum(b, init)))
	return b
}

// Raw TCP options a forger puts on its segments.
var (
	// OptMSS1460 is an MSS option of 1460.
	OptMSS1460 = []byte{2, 4, 0x05, 0xb4}
	// OptNOP4 is four NOPs.
	OptNOP4 = []byte{1, 1, 1, 1}
)

// OptTimestamps returns NOP, NOP, timestamps(val, ecr): 12 bytes.
func OptTimestamps(val, ecr uint32) []byte {
	b := []byte{1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[4:], val)
	binary.BigEndian.PutUint32(b[8:], ecr)
	return b
}

// Join concatenates option byte strings.
func Join(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Ethernet returns an Ethernet II frame from src to dst carrying the IP
// packet pkt (EtherType from its version nibble), with an 802.1Q tag of
// VLAN vid when vid is not 0.
func Ethernet(dst, src net.HardwareAddr, vid uint16, pkt []byte) []byte {
	et := uint16(0x0800)
	if len(pkt) > 0 && pkt[0]>>4 == 6 {
		et = 0x86dd
	}
	var b []byte
	b = append(b, dst...)
	b = append(b, src...)
	if vid != 0 {
		b = binary.BigEndian.AppendUint16(b, 0x8100)
		b = binary.BigEndian.AppendUint16(b, vid&0x0fff)
	}
	b = binary.BigEndian.AppendUint16(b, et)
	return append(b, pkt...)
}
