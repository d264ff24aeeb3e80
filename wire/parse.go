package wire

import "net/netip"

// IPInfo is what ParseIP learns from an IPv4 or IPv6 header.
type IPInfo struct {
	Version       int // 4 or 6
	Src, Dst      netip.Addr
	TTL           uint8 // TTL or hop limit
	TOS           uint8 // IPv4 TOS / IPv6 traffic class
	Protocol      uint8 // upper-layer protocol (after IPv6 extension headers)
	HeaderLen     int   // bytes from start of packet to the upper-layer header
	Fragment      bool  // IPv4 MF or offset != 0, or IPv6 fragment header present
	FirstFragment bool  // fragment offset == 0 (also true when not a fragment)
}

// ParseIP validates the IPv4 or IPv6 header at the start of b, fills ip and
// returns the upper-layer payload.
//
// IPv4: version, IHL >= 5 and within b, the header checksum, total length
// >= IHL*4 and <= len(b). IPv6: the fixed header and payload length <=
// len(b)-40, then the extension headers hop-by-hop (0, first only),
// routing (43), fragment (44), destination options (60) and AH (51), read
// with ReadExtHeader and, as in the kernel, as many as the packet holds. Bytes past the length the header gives (link-layer
// padding) are trimmed from the payload; a length larger than b is
// ErrTruncated.
//
// For a fragment whose offset is not 0 the payload is fragment data, not
// an upper-layer header, and Protocol is the protocol of the whole
// datagram; callers should check FirstFragment (and Fragment: the payload
// of a first fragment is not the whole segment, so no checksum verifies).
//
// ParseIP never allocates, never panics, and clears ip first.
func ParseIP(b []byte, ip *IPInfo) (payload []byte, err error) {
	*ip = IPInfo{}
	if len(b) == 0 {
		return nil, errEmpty
	}
	switch b[0] >> 4 {
	case 4:
		return parseIPv4(b, ip)
	case 6:
		return parseIPv6(b, ip)
	}
	return nil, errIPVersion
}

func parseIPv4(b []byte, ip *IPInfo) ([]byte, error) {
	if len(b) < IPv4MinLen {
		return nil, errIPv4Short
	}
	h := IPv4(b)
	hlen := h.HeaderLen()
	if hlen < IPv4MinLen {
		return nil, errIPv4IHL
	}
	if hlen > len(b) {
		return nil, errIPv4IHLShort
	}
	total := int(h.TotalLen())
	if total < hlen {
		return nil, errIPv4TotalLen
	}
	if total > len(b) {
		return nil, errIPv4TotalLenShort
	}
	if !h.ChecksumValid() {
		return nil, errIPv4Checksum
	}
	ip.Version = 4
	ip.Src, ip.Dst = h.Src(), h.Dst()
	ip.TTL = h.TTL()
	ip.TOS = h.TOS()
	ip.Protocol = h.Protocol()
	ip.HeaderLen = hlen
	off := h.FragmentOffset()
	ip.Fragment = h.MF() || off != 0
	ip.FirstFragment = off == 0
	return b[hlen:total], nil
}

func parseIPv6(b []byte, ip *IPInfo) ([]byte, error) {
	if len(b) < IPv6Len {
		return nil, errIPv6Short
	}
	h := IPv6(b)
	end := IPv6Len + int(h.PayloadLen())
	if end > len(b) {
		return nil, errIPv6PayloadLen
	}
	b = b[:end]
	ip.Version = 6
	ip.Src, ip.Dst = h.Src(), h.Dst()
	ip.TTL = h.HopLimit()
	ip.TOS = h.TrafficClass()
	ip.FirstFragment = true

	nh, off := h.NextHeader(), IPv6Len
	var x ExtHeader
	for first := true; ; first = false {
		switch nh {
		case IPv6HopByHop, IPv6Routing, IPv6DestOptions, IPv6AH, IPv6Fragment:
		default:
			ip.Protocol, ip.HeaderLen = nh, off
			return b[off:], nil
		}
		if nh == IPv6HopByHop && !first {
			return nil, errIPv6HopByHop
		}
		if err := ReadExtHeader(b, off, nh, &x); err != nil {
			return nil, err
		}
		if nh == IPv6Fragment {
			ip.Fragment = true
			ip.FirstFragment = x.FragOffset == 0
			if x.FragOffset != 0 {
				// The rest is fragment data: its first bytes are not a header.
				ip.Protocol, ip.HeaderLen = x.Next, off+x.Len
				return b[off+x.Len:], nil
			}
		}
		nh, off = x.Next, off+x.Len
	}
}

// Segment is a decoded TCP header.
type Segment struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	DataOffset       int // header length in bytes
	Flags            Flags
	Window           uint16
	Checksum, Urgent uint16
	Options          Options
	OptionsErr       error // non-nil when option parsing stopped at a malformed option (what was read is kept)
	PayloadLen       int
}

// ParseTCP decodes b, a TCP header and its payload, into s, which it first
// clears. It checks that the data offset is at least 5 and within b. A
// malformed option stops option parsing without failing: s.OptionsErr says
// why and the options read before it are kept. It does not verify the
// checksum (see TCPChecksumValid) and does not allocate.
func ParseTCP(b []byte, s *Segment) error {
	*s = Segment{}
	if len(b) < TCPMinLen {
		return errTCPShort
	}
	h := TCP(b)
	doff := h.DataOffset()
	if doff < TCPMinLen {
		return errTCPDataOffset
	}
	if doff > len(b) {
		return errTCPDataOffsetShort
	}
	s.SrcPort, s.DstPort = h.SrcPort(), h.DstPort()
	s.Seq, s.Ack = h.Seq(), h.Ack()
	s.DataOffset = doff
	s.Flags = h.Flags()
	s.Window = h.Window()
	s.Checksum, s.Urgent = h.Checksum(), h.Urgent()
	s.OptionsErr = ParseOptions(h.Options(), &s.Options)
	s.PayloadLen = len(b) - doff
	return nil
}

// TCPChecksumValid reports whether the TCP segment tcp (header and payload)
// carried from src to dst has a correct checksum. Addresses of different
// families never verify.
func TCPChecksumValid(src, dst netip.Addr, tcp []byte) bool {
	if src.Is4() != dst.Is4() {
		return false
	}
	return Valid(tcp, PseudoHeaderSum(src, dst, ProtocolTCP, len(tcp)))
}
