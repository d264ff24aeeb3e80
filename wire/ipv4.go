package wire

import (
	"encoding/binary"
	"net/netip"
)

// IPv4 is a view over an IPv4 header (RFC 791 §3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version|  IHL  |Type of Service|          Total Length         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Identification        |Flags|      Fragment Offset    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Time to Live |    Protocol   |         Header Checksum       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Source Address                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Destination Address                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The getters do not check the length: use them on at least IPv4MinLen
// bytes, as ParseIP has validated.
type IPv4 []byte

// Offsets and sizes of the IPv4 header fields.
const (
	IPv4VersionIHLOffset = 0
	IPv4TOSOffset        = 1
	IPv4TotalLenOffset   = 2
	IPv4IDOffset         = 4
	IPv4FlagsFragOffset  = 6
	IPv4TTLOffset        = 8
	IPv4ProtocolOffset   = 9
	IPv4ChecksumOffset   = 10
	IPv4SrcOffset        = 12
	IPv4DstOffset        = 16
	IPv4MinLen           = 20 // header without options

	IPv4FlagDF         = 0x4000 // Don't Fragment, in the flags/fragment-offset word
	IPv4FlagMF         = 0x2000 // More Fragments
	IPv4FragOffsetMask = 0x1fff // fragment offset, in 8-byte units

	// IP protocol numbers (IANA), as in the IPv4 protocol and IPv6 next
	// header fields.
	ProtocolICMP   = 1  // ICMP for IPv4
	ProtocolTCP    = 6  // TCP
	ProtocolICMPv6 = 58 // ICMP for IPv6
)

// Version returns the IP version nibble.
func (h IPv4) Version() int { return int(h[0] >> 4) }

// HeaderLen returns the header length in bytes (IHL × 4).
func (h IPv4) HeaderLen() int { return int(h[0]&0xf) * 4 }

// TOS returns the type of service (DSCP and ECN) byte.
func (h IPv4) TOS() uint8 { return h[IPv4TOSOffset] }

// TotalLen returns the total length field: header plus payload.
func (h IPv4) TotalLen() uint16 { return binary.BigEndian.Uint16(h[IPv4TotalLenOffset:]) }

// ID returns the identification field.
func (h IPv4) ID() uint16 { return binary.BigEndian.Uint16(h[IPv4IDOffset:]) }

// DF reports whether the Don't Fragment flag is set.
func (h IPv4) DF() bool { return h.flagsFrag()&IPv4FlagDF != 0 }

// MF reports whether the More Fragments flag is set.
func (h IPv4) MF() bool { return h.flagsFrag()&IPv4FlagMF != 0 }

// FragmentOffset returns the fragment offset in bytes.
func (h IPv4) FragmentOffset() int { return int(h.flagsFrag()&IPv4FragOffsetMask) * 8 }

func (h IPv4) flagsFrag() uint16 { return binary.BigEndian.Uint16(h[IPv4FlagsFragOffset:]) }

// TTL returns the time to live.
func (h IPv4) TTL() uint8 { return h[IPv4TTLOffset] }

// Protocol returns the upper-layer protocol number.
func (h IPv4) Protocol() uint8 { return h[IPv4ProtocolOffset] }

// Src returns the source address.
func (h IPv4) Src() netip.Addr { return netip.AddrFrom4([4]byte(h[IPv4SrcOffset:])) }

// Dst returns the destination address.
func (h IPv4) Dst() netip.Addr { return netip.AddrFrom4([4]byte(h[IPv4DstOffset:])) }

// ChecksumValid reports whether the header checksum over HeaderLen bytes
// is correct. h must hold at least HeaderLen bytes.
func (h IPv4) ChecksumValid() bool { return Valid(h[:h.HeaderLen()], 0) }
