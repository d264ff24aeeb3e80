package rx

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/tcpprobe/tcpprobe/wire"
)

// ipv6 is ipv6_rcv_core, ipv6_parse_hopopts and ip6_protocol_deliver_rcu's
// walk through the extension headers to TCP or ICMPv6, each header by its
// own handler: ipv6_rthdr_rcv, ipv6_destopt_rcv, ipv6_frag_rcv.
func (p *Pipeline) ipv6(b []byte, info *FrameInfo, now time.Time, out *Packet) Drop {
	if len(b) < wire.IPv6Len {
		return DropIP6Header
	}
	h := wire.IPv6(b)
	if h.Version() != 6 {
		return DropIPVersion
	}
	out.From, out.To, out.TTL = h.Src(), h.Dst(), h.HopLimit()
	if d := addrRules6(out.From, out.To, info, &p.cfg); d != DropNone {
		return d
	}
	// A zero payload length with a hop-by-hop header announces a
	// jumbogram: the kernel does not trim then.
	if pl := int(h.PayloadLen()); pl != 0 || h.NextHeader() != wire.IPv6HopByHop {
		if wire.IPv6Len+pl > len(b) {
			return DropIPTruncated
		}
		b = b[:wire.IPv6Len+pl]
	}
	nh, off, nhoff := h.NextHeader(), wire.IPv6Len, wire.IPv6NextHeaderOffset
	var x wire.ExtHeader
	if nh == wire.IPv6HopByHop {
		// ipv6_parse_hopopts.
		if wire.ReadExtHeader(b, off, nh, &x) != nil || x.Len > p.cfg.MaxHBHOptsLength {
			return DropIP6ExtHeader
		}
		if d := p.parseTLV(true, b, &x); d != DropNone {
			return d
		}
		nh, off, nhoff = x.Next, off+x.Len, off
	}
	reassembled := false
	// ip6_protocol_deliver_rcu: each header's handler returns the next;
	// every step moves off forward by at least 8 bytes or returns.
	for {
		switch nh {
		case wire.ProtocolTCP, wire.ProtocolICMPv6:
			return p.transport(true, nh, b[off:], info, out)
		case wire.IPv6Routing:
			if wire.ReadExtHeader(b, off, nh, &x) != nil {
				return DropIP6ExtHeader
			}
			if d := p.routing(b, &x, info, out.To); d != DropNone {
				return d
			}
		case wire.IPv6DestOptions:
			if wire.ReadExtHeader(b, off, nh, &x) != nil || x.Len > p.cfg.MaxDstOptsLength {
				return DropIP6ExtHeader
			}
			if d := p.parseTLV(false, b, &x); d != DropNone {
				return d
			}
		case wire.IPv6Fragment:
			if wire.ReadExtHeader(b, off, nh, &x) != nil {
				return DropIP6ExtHeader
			}
			if x.FragOffset == 0 && !x.More {
				break // an atomic fragment is processed whole (RFC 6946)
			}
			if reassembled {
				// A fragment inside a reassembled datagram: the kernel
				// would queue it again; tcpprobe reassembles once.
				return DropFragInvalid
			}
			if x.FragOffset == 0 && fragFirstTruncated(b) {
				return DropFragHeader
			}
			data, d := p.frags.add6(b, &x, nhoff, now)
			if d != DropNone {
				return d
			}
			// ip6_frag_reasm: the first fragment's headers without the
			// fragment header, then the data.
			head := p.frags.head
			n := len(head) + len(data)
			if n-wire.IPv6Len > 0xffff {
				return DropFragInvalid
			}
			p.reasm = append(append(p.reasm[:0], head...), data...)
			r := p.reasm
			r[p.frags.headNHOff] = p.frags.headNext
			binary.BigEndian.PutUint16(r[wire.IPv6PayloadLenOffset:], uint16(n-wire.IPv6Len))
			b, out.Reassembled, reassembled = r, true, true
			out.TTL = r[wire.IPv6HopLimitOffset]
			nh, off = p.frags.headNext, len(head)
			continue
		default:
			if wire.IsExtHeader(nh) || nh == ipprotoESP {
				// Hop-by-hop not first, no-next-header, AH and ESP without
				// IPsec state: no handler takes them.
				return DropIP6UnknownHeader
			}
			return DropNotTCPOrICMP
		}
		nh, off, nhoff = x.Next, off+x.Len, off
	}
}

// IPsec ESP (RFC 4303) and UDP (RFC 768).
const (
	ipprotoESP = 50
	ipprotoUDP = 17
)

// addrRules6 is ipv6_rcv_core's address checks (RFC 4291 §2.5.3, §2.7)
// and its L2-multicast rule.
func addrRules6(src, dst netip.Addr, info *FrameInfo, cfg *Config) Drop {
	if (src.IsLoopback() || dst.IsLoopback()) && !info.Loopback {
		return DropIP6Header
	}
	d := dst.As16()
	if dst.IsMulticast() {
		if scope := d[1] & 0xf; scope == 0 || (scope == 1 && !info.Loopback) {
			return DropIP6Header
		}
	} else if (info.PktType == PacketBroadcast || info.PktType == PacketMulticast) && cfg.DropUnicastInL2Multicast6 {
		return DropL2Multicast
	}
	if src.IsMulticast() {
		return DropIP6Header
	}
	return DropNone
}

// fragFirstTruncated is ipv6frag_thdr_truncated: a first fragment must
// hold every header through the upper-layer header (RFC 8200 §4.5).
func fragFirstTruncated(b []byte) bool {
	proto, off, _, err := wire.SkipExtHeaders(b, wire.IPv6Len, wire.IPv6(b).NextHeader())
	if err != nil || proto == wire.IPv6Fragment {
		return false
	}
	switch proto {
	case wire.ProtocolTCP:
		off += wire.TCPMinLen
	case wire.ProtocolICMPv6:
		off += 8
	case ipprotoUDP:
		off += 8
	default:
		off++
	}
	return off > len(b)
}

// Routing header types (IANA "Routing Types").
const (
	rtType0   = 0 // deprecated source route (RFC 5095)
	rtType2   = 2 // Mobile IPv6
	rtTypeRPL = 3 // RPL source route (RFC 6554)
	rtTypeSRH = 4 // segment routing (RFC 8754)
)

// routing is ipv6_rthdr_rcv for a kernel without Mobile IPv6: a routing
// header to a multicast address or in a frame not for this host is
// dropped; segment routing and RPL headers are dropped unless enabled
// (seg6_enabled, rpl_seg_enabled), and with segments left they would be
// forwarded, not delivered here; any other type with segments left is
// dropped with a parameter problem (type 0 since RFC 5095), and with none
// left is skipped.
func (p *Pipeline) routing(b []byte, x *wire.ExtHeader, info *FrameInfo, dst netip.Addr) Drop {
	if dst.IsMulticast() || info.PktType != PacketHost {
		return DropIP6Routing
	}
	typ, left := b[x.Off+2], b[x.Off+3]
	switch typ {
	case rtTypeSRH:
		if !p.cfg.Seg6Enabled {
			return DropIP6Routing
		}
	case rtTypeRPL:
		if !p.cfg.RPLSegEnabled {
			return DropIP6Routing
		}
	}
	if left != 0 {
		return DropIP6Routing
	}
	return DropNone
}

// Option types of hop-by-hop and destination options headers (IANA
// "Destination Options and Hop-by-Hop Options").
const (
	tlvPad1        = 0x00
	tlvPadN        = 0x01
	tlvRouterAlert = 0x05
	tlvCALIPSO     = 0x07
	tlvIOAM        = 0x31
	tlvJumbo       = 0xc2
)

// parseTLV is ip6_parse_tlv (net/ipv6/exthdrs.c) over the options of the
// hop-by-hop (hbh) or destination options header x: at most 7 bytes of
// padding in a row, PadN all zeros, at most max_*_opts_number options, each
// within the header; the known hop-by-hop options checked by their
// handlers; an unknown option skipped only when its action bits are 00
// (and the count sysctl is not negative).
func (p *Pipeline) parseTLV(hbh bool, b []byte, x *wire.ExtHeader) Drop {
	maxCount := p.cfg.MaxDstOptsNumber
	if hbh {
		maxCount = p.cfg.MaxHBHOptsNumber
	}
	disallowUnknown := maxCount < 0
	if disallowUnknown {
		maxCount = -maxCount
	}
	off, n := x.Off+2, x.Len-2
	count, padlen := 0, 0
	for n > 0 {
		if b[off] == tlvPad1 {
			padlen++
			if padlen > 7 {
				return DropIP6Option
			}
			off++
			n--
			continue
		}
		if n < 2 {
			return DropIP6Option
		}
		optlen := int(b[off+1]) + 2
		if optlen > n {
			return DropIP6Option
		}
		if b[off] == tlvPadN {
			padlen += optlen
			if padlen > 7 {
				return DropIP6Option
			}
			for _, c := range b[off+2 : off+optlen] {
				if c != 0 {
					return DropIP6Option
				}
			}
		} else {
			count++
			if count > maxCount {
				return DropIP6Option
			}
			if d := p.option(hbh, b, off, disallowUnknown); d != DropNone {
				return d
			}
			padlen = 0
		}
		off += optlen
		n -= optlen
	}
	return DropNone
}

// option judges one non-padding option at b[off:].
func (p *Pipeline) option(hbh bool, b []byte, off int, disallowUnknown bool) Drop {
	typ, l := b[off], b[off+1]
	if hbh {
		switch typ {
		case tlvRouterAlert: // ipv6_hop_ra
			if l != 2 {
				return DropIP6Option
			}
			return DropNone
		case tlvIOAM: // ipv6_hop_ioam
			if off&3 != 0 {
				return DropIP6Option
			}
			if p.cfg.IOAM6Enabled && l < 2 {
				return DropIP6Option
			}
			return DropNone
		case tlvJumbo:
			// ipv6_hop_jumbo accepts a jumbogram only: payload length 0
			// and more than 65535 bytes, which no frame here holds.
			return DropIP6Option
		case tlvCALIPSO:
			// ipv6_hop_calipso: calipso_validate finds no DOI by default.
			return DropIP6Option
		}
	}
	// ip6_tlvopt_unknown. (Without Mobile IPv6 the home address option
	// of destination options is unknown too.)
	if disallowUnknown || typ>>6 != 0 {
		return DropIP6OptionAction
	}
	return DropNone
}
