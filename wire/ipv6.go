package wire

import (
	"encoding/binary"
	"net/netip"
)

// IPv6 is a view over the fixed IPv6 header (RFC 8200 §3):
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Traffic Class |           Flow Label                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Payload Length        |  Next Header  |   Hop Limit   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                         Source Address                        +
//	|                          (16 bytes)                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                      Destination Address                      +
//	|                          (16 bytes)                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The getters do not check the length: use them on at least IPv6Len
// bytes, as ParseIP has validated.
type IPv6 []byte

// Offsets and sizes of the IPv6 header fields, and the extension header
// numbers ParseIP walks.
const (
	IPv6VersionTCFlowOffset = 0
	IPv6PayloadLenOffset    = 4
	IPv6NextHeaderOffset    = 6
	IPv6HopLimitOffset      = 7
	IPv6SrcOffset           = 8
	IPv6DstOffset           = 24
	IPv6Len                 = 40

	IPv6HopByHop    = 0
	IPv6Routing     = 43
	IPv6Fragment    = 44
	IPv6AH          = 51
	IPv6NoNextHdr   = 59
	IPv6DestOptions = 60
)

// Version returns the IP version nibble.
func (h IPv6) Version() int { return int(h[0] >> 4) }

// TrafficClass returns the traffic class byte.
func (h IPv6) TrafficClass() uint8 { return uint8(binary.BigEndian.Uint16(h[0:]) >> 4) }

// FlowLabel returns the 20-bit flow label.
func (h IPv6) FlowLabel() uint32 { return binary.BigEndian.Uint32(h[0:]) & 0xfffff }

// PayloadLen returns the payload length: the bytes after the fixed header.
func (h IPv6) PayloadLen() uint16 { return binary.BigEndian.Uint16(h[IPv6PayloadLenOffset:]) }

// NextHeader returns the type of the header after the fixed header.
func (h IPv6) NextHeader() uint8 { return h[IPv6NextHeaderOffset] }

// HopLimit returns the hop limit.
func (h IPv6) HopLimit() uint8 { return h[IPv6HopLimitOffset] }

// Src returns the source address.
func (h IPv6) Src() netip.Addr { return netip.AddrFrom16([16]byte(h[IPv6SrcOffset:])) }

// Dst returns the destination address.
func (h IPv6) Dst() netip.Addr { return netip.AddrFrom16([16]byte(h[IPv6DstOffset:])) }
