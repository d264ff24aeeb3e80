package rx

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/tcpprobe/tcpprobe/wire"
)

// ipv4 is ip_rcv_core, the martian-source part of ip_route_input_slow,
// ip_rcv_options, ip_rcv_finish_core's L2-multicast rule and ip_local_deliver
// (reassembly), in that order.
func (p *Pipeline) ipv4(b []byte, info *FrameInfo, now time.Time, out *Packet) Drop {
	// ip_rcv_core.
	if len(b) < wire.IPv4MinLen {
		return DropIPHeader
	}
	h := wire.IPv4(b)
	if h.Version() != 4 {
		return DropIPVersion
	}
	hlen := h.HeaderLen()
	if hlen < wire.IPv4MinLen || hlen > len(b) {
		return DropIPHeader
	}
	if !h.ChecksumValid() {
		return DropIPChecksum
	}
	total := int(h.TotalLen())
	if total > len(b) {
		return DropIPTruncated
	}
	if total < hlen {
		return DropIPHeader
	}
	b = b[:total]
	h = wire.IPv4(b)
	out.From, out.To, out.TTL = h.Src(), h.Dst(), h.TTL()

	// ip_route_input_slow: martian sources.
	if martian4(out.From, info.Loopback || p.cfg.RouteLocalnet) {
		return DropIPMartian
	}
	// ip_rcv_options.
	if hlen > wire.IPv4MinLen {
		srr, ok := ipOptions(b[wire.IPv4MinLen:hlen])
		if !ok {
			return DropIPOptions
		}
		if srr != 0 {
			// IN_DEV_SOURCE_ROUTE off: dropped. On, ip_options_rcv_srr
			// delivers the packet here only when its route is used up;
			// otherwise it goes on to the next hop (or is dropped).
			o := b[wire.IPv4MinLen+srr-1:]
			if !p.cfg.AcceptSourceRoute4 || int(o[2]) <= int(o[1]) {
				return DropSourceRoute
			}
		}
	}
	// ip_rcv_finish_core, RFC 1122 §3.3.6.
	if (info.PktType == PacketBroadcast || info.PktType == PacketMulticast) &&
		p.cfg.DropUnicastInL2Multicast4 && !out.To.IsMulticast() && out.To != limitedBroadcast {
		return DropL2Multicast
	}
	proto := h.Protocol()
	if h.MF() || h.FragmentOffset() != 0 {
		data, d := p.frags.add4(b, hlen, now)
		if d != DropNone {
			return d
		}
		// ip_frag_reasm: the first fragment's header, a new length, no
		// fragment bits.
		head := p.frags.head
		hlen = len(head)
		n := hlen + len(data)
		if n > 0xffff {
			return DropFragInvalid
		}
		p.reasm = append(append(p.reasm[:0], head...), data...)
		r := p.reasm
		binary.BigEndian.PutUint16(r[wire.IPv4TotalLenOffset:], uint16(n))
		binary.BigEndian.PutUint16(r[wire.IPv4FlagsFragOffset:], binary.BigEndian.Uint16(r[wire.IPv4FlagsFragOffset:])&wire.IPv4FlagDF)
		binary.BigEndian.PutUint16(r[wire.IPv4ChecksumOffset:], 0)
		binary.BigEndian.PutUint16(r[wire.IPv4ChecksumOffset:], wire.Fold(wire.Sum(r[:hlen], 0)))
		out.TTL = r[wire.IPv4TTLOffset]
		out.Reassembled = true
		b = r
	}
	return p.transport(false, proto, b[hlen:], info, out)
}

var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// martian4 is ip_route_input_slow's test of the source address: multicast,
// the limited broadcast, 0.0.0.0/8, and loopback unless route_localnet (or
// the loopback interface itself).
func martian4(src netip.Addr, localnet bool) bool {
	a := src.As4()
	switch {
	case src.IsMulticast(), src == limitedBroadcast, a[0] == 0:
		return true
	case a[0] == 127:
		return !localnet
	}
	return false
}

// IPv4 option types (RFC 791, RFC 1108, RFC 2113).
const (
	ipoptEnd       = 0
	ipoptNoop      = 1
	ipoptSec       = 130
	ipoptLSRR      = 131
	ipoptTimestamp = 68
	ipoptCIPSO     = 134
	ipoptRR        = 7
	ipoptSID       = 136
	ipoptSSRR      = 137
	ipoptRA        = 148

	ipoptTSOnly    = 0
	ipoptTSAndAddr = 1
	ipoptTSPrespec = 3
)

// ipOptions validates the option area opts of a received IPv4 header as
// Linux's ip_options_compile (net/ipv4/ip_options.c) does for a packet
// (skb != NULL). ok false means the kernel drops the packet and counts
// IpInHdrErrors. srr is one more than the offset of the LSRR/SSRR option
// in opts, 0 if there is none. CIPSO options are rejected:
// with NetLabel and no CIPSO DOI configured (the default),
// cipso_v4_validate finds no DOI.
func ipOptions(opts []byte) (srr int, ok bool) {
	var haveRR, haveTS bool
	for off := 0; off < len(opts); {
		l := len(opts) - off
		o := opts[off:]
		switch o[0] {
		case ipoptEnd:
			return srr, true
		case ipoptNoop:
			off++
			continue
		}
		if l < 2 {
			return 0, false
		}
		optlen := int(o[1])
		if optlen < 2 || optlen > l {
			return 0, false
		}
		switch o[0] {
		case ipoptSSRR, ipoptLSRR:
			if optlen < 3 || o[2] < 4 || srr != 0 {
				return 0, false
			}
			srr = off + 1 // 1-based, so 0 can mean none
		case ipoptRR:
			if haveRR || optlen < 3 || o[2] < 4 {
				return 0, false
			}
			if int(o[2]) <= optlen && int(o[2])+3 > optlen {
				return 0, false
			}
			haveRR = true
		case ipoptTimestamp:
			if haveTS || optlen < 4 || o[2] < 5 {
				return 0, false
			}
			if int(o[2]) <= optlen {
				if int(o[2])+3 > optlen {
					return 0, false
				}
				switch o[3] & 0xf {
				case ipoptTSAndAddr, ipoptTSPrespec:
					if int(o[2])+7 > optlen {
						return 0, false
					}
				}
			} else if o[3]>>4 == 15 { // overflow counter would wrap
				return 0, false
			}
			haveTS = true
		case ipoptRA:
			if optlen < 4 {
				return 0, false
			}
		case ipoptCIPSO:
			return 0, false
		}
		off += optlen
	}
	return srr, true
}
