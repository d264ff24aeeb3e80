package wire

import (
	"encoding/binary"
	"net/netip"
)

// Sum adds b to the running one's-complement sum initial, 16 bits at a time
// in network byte order, as RFC 1071 describes. An odd trailing byte is
// padded with a zero. The result is not folded; pass it to Fold. It adds
// 32-bit big-endian words, which is the same sum modulo 0xffff (2^16 is 1
// there), so Fold gives the same checksum in half the additions.
func Sum(b []byte, initial uint32) uint32 {
	s := uint64(initial)
	for len(b) >= 8 {
		s += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		s += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	for s>>32 != 0 {
		s = s&0xffffffff + s>>32
	}
	return uint32(s)
}

// Fold reduces a running sum to 16 bits and returns its one's complement:
// the value to store in a checksum field.
func Fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// PseudoHeaderSum returns the running sum of the IPv4 (RFC 793 §3.1) or
// IPv6 (RFC 8200 §8.1) pseudo-header for an upper-layer packet of length
// bytes carrying protocol proto from src to dst. src and dst must be of the
// same family.
func PseudoHeaderSum(src, dst netip.Addr, proto uint8, length int) uint32 {
	var s uint32
	if src.Is4() {
		a, b := src.As4(), dst.As4()
		s = Sum(a[:], 0)
		s = Sum(b[:], s)
	} else {
		a, b := src.As16(), dst.As16()
		s = Sum(a[:], 0)
		s = Sum(b[:], s)
	}
	return s + uint32(proto) + uint32(length)&0xffff + uint32(length)>>16
}

// Valid reports whether b, summed on top of initial, checks out: a packet
// whose checksum field is correct sums to 0xffff.
func Valid(b []byte, initial uint32) bool {
	return Fold(Sum(b, initial)) == 0
}
