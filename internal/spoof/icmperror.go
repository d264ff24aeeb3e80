package spoof

import (
	"encoding/binary"
	"net/netip"

	"github.com/tcpprobe/tcpprobe/wire"
)

// ICMPError builds an IP packet from src to dst carrying an ICMP (v6:
// ICMPv6) error of type typ and code quoting quote, checksums included.
func ICMPError(src, dst netip.Addr, v6 bool, typ, code uint8, quote []byte) []byte {
	if len(quote) > 48+20 {
		quote = quote[:48+20]
	}
	msg := make([]byte, 8+len(quote))
	msg[0], msg[1] = typ, code
	copy(msg[8:], quote)
	var pkt []byte
	if v6 {
		binary.BigEndian.PutUint16(msg[2:], wire.Fold(wire.Sum(msg, wire.PseudoHeaderSum(src, dst, wire.ProtocolICMPv6, len(msg)))))
		pkt = make([]byte, 40+len(msg))
		pkt[0] = 6 << 4
		binary.BigEndian.PutUint16(pkt[4:], uint16(len(msg)))
		pkt[6], pkt[7] = wire.ProtocolICMPv6, 64
		s, d := src.As16(), dst.As16()
		copy(pkt[8:], s[:])
		copy(pkt[24:], d[:])
		copy(pkt[40:], msg)
		return pkt
	}
	binary.BigEndian.PutUint16(msg[2:], wire.Fold(wire.Sum(msg, 0)))
	pkt = make([]byte, 20+len(msg))
	pkt[0] = 0x45
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	pkt[8], pkt[9] = 64, wire.ProtocolICMP
	s, d := src.As4(), dst.As4()
	copy(pkt[12:], s[:])
	copy(pkt[16:], d[:])
	binary.BigEndian.PutUint16(pkt[10:], wire.Fold(wire.Sum(pkt[:20], 0)))
	copy(pkt[20:], msg)
	return pkt
}
