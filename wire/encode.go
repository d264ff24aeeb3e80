package wire

import (
	"encoding/binary"
	"net/netip"
)

// SegmentSpec describes one IP+TCP segment to encode.
type SegmentSpec struct {
	Src, Dst  netip.Addr // both IPv4 or both IPv6; IPv4-mapped IPv6 is rejected
	TTL       uint8      // TTL / hop limit; 0 means 64
	TOS       uint8      // IPv4 TOS / IPv6 traffic class
	ID        uint16     // IPv4 identification
	NoDF      bool       // IPv4: clear Don't Fragment (DF is set by default, as Linux TCP does)
	FlowLabel uint32     // IPv6 flow label, at most 20 bits

	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            Flags
	Window           uint16
	Options          Options
}

// DefaultTTL is the TTL or hop limit EncodeSegment uses when
// SegmentSpec.TTL is 0, Linux's default.
const DefaultTTL = 64

// MaxSegmentLen is the largest IPv6 header + largest TCP header this
// encoder writes.
const MaxSegmentLen = 40 + 60

// EncodeSegment writes the IPv4 (20 bytes, no options) or IPv6 (40 bytes)
// header and the TCP header with options into b and returns the number of
// bytes written. The IPv4 header checksum and the TCP checksum (over the
// pseudo-header, both families) are computed. It does not allocate. Errors
// match ErrShortBuffer when b is too short (MaxSegmentLen always suffices)
// or ErrBadSpec for mixed, unset or IPv4-mapped addresses and a flow label
// wider than 20 bits.
func EncodeSegment(b []byte, s *SegmentSpec) (int, error) {
	if !s.Src.IsValid() || !s.Dst.IsValid() {
		return 0, errSpecAddr
	}
	if s.Src.Is4In6() || s.Dst.Is4In6() {
		return 0, errSpec4in6
	}
	if s.Src.Is4() != s.Dst.Is4() {
		return 0, errSpecFamily
	}
	v4 := s.Src.Is4()
	if !v4 && s.FlowLabel > 0xfffff {
		return 0, errSpecFlowLabel
	}
	ipLen := IPv6Len
	if v4 {
		ipLen = IPv4MinLen
	}
	tcpLen := TCPMinLen + s.Options.Len()
	n := ipLen + tcpLen
	if len(b) < n {
		return 0, errShortBuffer
	}
	b = b[:n]
	ttl := s.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}

	if v4 {
		h := b[:IPv4MinLen]
		h[IPv4VersionIHLOffset] = 4<<4 | IPv4MinLen/4
		h[IPv4TOSOffset] = s.TOS
		binary.BigEndian.PutUint16(h[IPv4TotalLenOffset:], uint16(n))
		binary.BigEndian.PutUint16(h[IPv4IDOffset:], s.ID)
		var frag uint16 = IPv4FlagDF
		if s.NoDF {
			frag = 0
		}
		binary.BigEndian.PutUint16(h[IPv4FlagsFragOffset:], frag)
		h[IPv4TTLOffset] = ttl
		h[IPv4ProtocolOffset] = ProtocolTCP
		src, dst := s.Src.As4(), s.Dst.As4()
		copy(h[IPv4SrcOffset:], src[:])
		copy(h[IPv4DstOffset:], dst[:])
		binary.BigEndian.PutUint16(h[IPv4ChecksumOffset:], 0)
		binary.BigEndian.PutUint16(h[IPv4ChecksumOffset:], Fold(Sum(h, 0)))
	} else {
		h := b[:IPv6Len]
		binary.BigEndian.PutUint32(h[IPv6VersionTCFlowOffset:], 6<<28|uint32(s.TOS)<<20|s.FlowLabel)
		binary.BigEndian.PutUint16(h[IPv6PayloadLenOffset:], uint16(tcpLen))
		h[IPv6NextHeaderOffset] = ProtocolTCP
		h[IPv6HopLimitOffset] = ttl
		src, dst := s.Src.As16(), s.Dst.As16()
		copy(h[IPv6SrcOffset:], src[:])
		copy(h[IPv6DstOffset:], dst[:])
	}

	t := b[ipLen:]
	binary.BigEndian.PutUint16(t[TCPSrcPortOffset:], s.SrcPort)
	binary.BigEndian.PutUint16(t[TCPDstPortOffset:], s.DstPort)
	binary.BigEndian.PutUint32(t[TCPSeqOffset:], s.Seq)
	binary.BigEndian.PutUint32(t[TCPAckOffset:], s.Ack)
	t[TCPDataOffsetOffset] = byte(tcpLen/4) << 4
	t[TCPFlagsOffset] = byte(s.Flags)
	binary.BigEndian.PutUint16(t[TCPWindowOffset:], s.Window)
	binary.BigEndian.PutUint16(t[TCPChecksumOffset:], 0)
	binary.BigEndian.PutUint16(t[TCPUrgentOffset:], 0)
	s.Options.put(t[TCPMinLen:])
	sum := PseudoHeaderSum(s.Src, s.Dst, ProtocolTCP, tcpLen)
	binary.BigEndian.PutUint16(t[TCPChecksumOffset:], Fold(Sum(t, sum)))
	return n, nil
}
