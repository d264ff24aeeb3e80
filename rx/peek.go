package rx

import (
	"encoding/binary"

	"github.com/tcpprobe/tcpprobe/icmp"
	"github.com/tcpprobe/tcpprobe/wire"
)

// peek reads, after a drop, the 4-tuple the frame names if it can: the
// ports of a TCP segment behind the IP header (and IPv6 extension headers),
// or the quote of an ICMP error, with no check of what the kernel would
// have refused. It is how a SYN-ACK dropped for a bad IP option still
// shows in its probe's timeline.
func (p *Pipeline) peek(b []byte, out *Packet) {
	if len(b) == 0 {
		return
	}
	var proto uint8
	var payload []byte
	v6 := b[0]>>4 == 6
	switch {
	case !v6 && len(b) >= wire.IPv4MinLen:
		h := wire.IPv4(b)
		hlen := h.HeaderLen()
		if hlen < wire.IPv4MinLen || hlen > len(b) || h.FragmentOffset() != 0 {
			return
		}
		if t := int(h.TotalLen()); t >= hlen && t < len(b) {
			b = b[:t]
		}
		out.From, out.To, out.TTL = h.Src(), h.Dst(), h.TTL()
		proto, payload = h.Protocol(), b[hlen:]
	case v6 && len(b) >= wire.IPv6Len:
		h := wire.IPv6(b)
		if t := wire.IPv6Len + int(h.PayloadLen()); t > wire.IPv6Len && t < len(b) {
			b = b[:t]
		}
		nh, off, _, err := wire.SkipExtHeaders(b, wire.IPv6Len, h.NextHeader())
		if err != nil {
			return
		}
		out.From, out.To, out.TTL = h.Src(), h.Dst(), h.HopLimit()
		proto, payload = nh, b[off:]
	default:
		return
	}
	switch {
	case proto == wire.ProtocolTCP && len(payload) >= 4:
		out.Tuple = Tuple{Local: out.To, Remote: out.From,
			LocalPort: binary.BigEndian.Uint16(payload[2:]), RemotePort: binary.BigEndian.Uint16(payload[0:])}
		out.HasTuple = true
	case !v6 && proto == wire.ProtocolICMP, v6 && proto == wire.ProtocolICMPv6:
		var m icmp.Message
		if icmp.Parse(payload, v6, out.From, out.To, false, &m) == nil {
			out.Tuple, out.HasTuple = quoteTuple(&m.Quote), true
		}
	}
}
