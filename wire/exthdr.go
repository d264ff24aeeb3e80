package wire

import "encoding/binary"

// IPv6 extension headers (RFC 8200 §4), read one at a time by ReadExtHeader
// and walked by SkipExtHeaders. Every reader of IPv6 in tcpprobe uses these
// two: ParseIP, the receive pipeline (package rx, which adds the kernel's
// per-header policy) and the quote of an ICMPv6 error (package icmp).
//
// Each extension header starts with Next Header and Hdr Ext Len:
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Next Header  |  Hdr Ext Len  |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|            (type-specific data, to (Hdr Ext Len+1)*8 bytes)   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// except AH, whose length is (Payload Len+2)*4 (RFC 4302 §2.2), and the
// fragment header, always 8 bytes (RFC 8200 §4.5):
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Identification                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

// Offsets in an extension header.
const (
	ExtNextOffset     = 0 // next header
	ExtLenOffset      = 1 // Hdr Ext Len
	FragOffsetOffset  = 2 // fragment header: offset (13 bits, 8-byte units) and M
	FragIDOffset      = 4 // fragment header: identification
	FragHeaderLen     = 8
	FragMoreFragments = 1 // the M bit in the offset word
)

// ExtHeader is one IPv6 extension header as ReadExtHeader found it.
type ExtHeader struct {
	Type uint8 // this header's type: the Next Header value that named it
	Next uint8 // the type of the header after it
	Off  int   // offset of the header in the packet
	Len  int   // length in bytes

	// Fragment header only.
	FragOffset int    // offset of this fragment's data in the datagram, in bytes
	More       bool   // the M flag: more fragments follow
	FragID     uint32 // identification
}

// IsExtHeader reports whether nh names a header Linux's ipv6_ext_hdr()
// treats as an extension header (include/net/ipv6.h): hop-by-hop, routing,
// fragment, AH, no-next-header and destination options.
func IsExtHeader(nh uint8) bool {
	switch nh {
	case IPv6HopByHop, IPv6Routing, IPv6Fragment, IPv6AH, IPv6NoNextHdr, IPv6DestOptions:
		return true
	}
	return false
}

// ReadExtHeader reads the extension header of type typ that starts at
// b[off:] into h, which it first clears. The whole header must lie within
// b: at least 8 bytes, and its length field must not run past b
// (ErrTruncated otherwise). typ must be one of IsExtHeader's types other
// than IPv6NoNextHdr (ErrBadHeader). It never allocates or panics.
func ReadExtHeader(b []byte, off int, typ uint8, h *ExtHeader) error {
	*h = ExtHeader{Type: typ, Off: off}
	if off < 0 || off > len(b) || len(b)-off < 8 {
		return errIPv6ExtShort
	}
	p := b[off:]
	switch typ {
	case IPv6Fragment:
		h.Len = FragHeaderLen
		w := binary.BigEndian.Uint16(p[FragOffsetOffset:])
		h.FragOffset = int(w &^ 7)
		h.More = w&FragMoreFragments != 0
		h.FragID = binary.BigEndian.Uint32(p[FragIDOffset:])
	case IPv6AH:
		h.Len = (int(p[ExtLenOffset]) + 2) * 4
	case IPv6HopByHop, IPv6Routing, IPv6DestOptions:
		h.Len = (int(p[ExtLenOffset]) + 1) * 8
	default:
		return errIPv6ExtType
	}
	if h.Len > len(p) {
		return errIPv6ExtShort
	}
	h.Next = p[ExtNextOffset]
	return nil
}

// SkipExtHeaders walks the extension headers that start at b[off:] with
// type nh, as Linux's ipv6_skip_exthdr() (net/ipv6/exthdrs_core.c) does,
// and returns the upper-layer protocol and the offset of its header.
//
// The walk stops at the first header that is not an extension header, or
// at a fragment header whose offset is not 0: the bytes after it are
// fragment data, and proto is then IPv6Fragment with upper past the
// fragment header. frag reports whether a fragment header was crossed or
// stopped at. A no-next-header (59) or a header that runs past b is an
// error. There is no limit on the number of headers but b's length (each is
// at least 8 bytes), as in the kernel. It never allocates or panics.
func SkipExtHeaders(b []byte, off int, nh uint8) (proto uint8, upper int, frag bool, err error) {
	var h ExtHeader
	for IsExtHeader(nh) {
		if nh == IPv6NoNextHdr {
			return nh, off, frag, errIPv6NoNext
		}
		if err := ReadExtHeader(b, off, nh, &h); err != nil {
			return nh, off, frag, err
		}
		if nh == IPv6Fragment {
			frag = true
			if h.FragOffset != 0 {
				return IPv6Fragment, off + h.Len, frag, nil
			}
		}
		nh, off = h.Next, off+h.Len
	}
	return nh, off, frag, nil
}
