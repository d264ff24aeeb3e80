package icmp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/tcpprobe/tcpprobe/wire"
)

// Errors returned by Parse. They are fixed values, so returning one does not
// allocate; compare with errors.Is.
var (
	// ErrNotError: the message is not an error message (echo, router or
	// neighbour discovery, timestamp, ...). Nothing to classify; drop it.
	ErrNotError = errors.New("icmp: not an error message (echo, ND, ...): nothing to classify")
	// ErrChecksum: the ICMP/ICMPv6 checksum does not verify. The kernel drops
	// such messages (spec §2.3 rule 1, §6 item 11), and so must the caller.
	ErrChecksum = errors.New("icmp: bad checksum: message dropped as the kernel would (pass verifyChecksum=false only when the link reports the checksum as not ready)")
	// ErrTruncated: fewer than the 8 bytes of the ICMP header. errors.Is(ErrTruncated, io.ErrUnexpectedEOF) holds.
	ErrTruncated = fmt.Errorf("icmp: message shorter than the 8-byte ICMP header: %w", io.ErrUnexpectedEOF)
	// ErrBadQuote: the quoted datagram is malformed: IHL < 5, fewer than 8
	// transport bytes after the quoted header(s), or IPv6 extension headers
	// that run past the quote or end in no-next-header. The quoted version
	// nibble is not checked, as Linux does not.
	ErrBadQuote = errors.New("icmp: quoted datagram malformed (bad IP header or fewer than 8 bytes after it): message dropped")
	// ErrNotTCP: the quoted datagram is not TCP (after IPv6 extension
	// headers); it cannot concern a probe.
	ErrNotTCP = errors.New("icmp: quoted datagram is not TCP")
	// ErrAddrFamily: verifying an ICMPv6 checksum needs the outer IPv6
	// source and destination; src or dst was not an IPv6 address. This is a
	// caller bug, not bad input.
	ErrAddrFamily = errors.New("icmp: ICMPv6 checksum needs IPv6 outer src and dst addresses: pass the addresses of the IPv6 packet that carried the message")
)

// ICMPv4 type 4, source quench (RFC 792, deprecated by RFC 6633); x/net/ipv4
// no longer lists it.
const typeSourceQuench4 = 4

// Offsets in the ICMP header (RFC 792, RFC 4443 §2.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  v4: pointer / gateway / unused + next-hop MTU (RFC 1191)     |
//	|  v6: unused / MTU / pointer                                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|      Quoted datagram: IP header + at least 8 bytes of TCP     |
const (
	offType   = 0
	offCode   = 1
	offRest   = 4 // the 32-bit type-specific word
	offMTU4   = 6 // v4 frag-needed: next-hop MTU, 16 bits (RFC 1191 §4)
	headerLen = 8 // ICMP/ICMPv6 header; the quote starts here
)

// Quoted IPv4 header (RFC 791 §3.1) offsets.
const (
	ip4MinLen  = 20
	ip4OffProt = 9
	ip4OffSrc  = 12
	ip4OffDst  = 16
)

// Quoted IPv6 header (RFC 8200 §3) offsets.
const (
	ip6Len     = 40
	ip6OffNext = 6
	ip6OffSrc  = 8
	ip6OffDst  = 24
)

// transportLen is how much of the transport header an ICMP error is
// guaranteed to quote (RFC 792; RFC 4443 §2.4(c) quotes more but the
// parser needs only this): source port, destination port, sequence number.
const transportLen = 8

// Quote is what an ICMP error quotes of the datagram that caused it.
type Quote struct {
	Src, Dst         netip.Addr
	Protocol         uint8 // after IPv6 extension headers
	SrcPort, DstPort uint16
	Seq              uint32 // TCP sequence number (first 8 bytes of TCP are all that is guaranteed)
}

// Matches reports whether q quotes a TCP segment from src:sport to
// dst:dport whose sequence number is iss (exactly iss; spec §2.3 rule 4
// recommendation, RFC 5927 §4.1). Addresses compare as netip.Addr values:
// an IPv4 address never matches its IPv4-mapped IPv6 form.
func (q *Quote) Matches(src, dst netip.Addr, sport, dport uint16, iss uint32) bool {
	return q.Protocol == wire.ProtocolTCP &&
		q.Seq == iss &&
		q.SrcPort == sport && q.DstPort == dport &&
		q.Src == src && q.Dst == dst
}

// Message is a parsed ICMP or ICMPv6 error.
type Message struct {
	V6         bool
	Type, Code uint8
	MTU        uint32 // next-hop MTU (v4 frag-needed, RFC 1191) or v6 packet-too-big MTU
	Pointer    uint32 // parameter problem pointer
	Quote      Quote
}

// Parse parses b, the ICMP or ICMPv6 message (starting at the ICMP type
// byte) that arrived in an IP packet from src to dst (needed for the ICMPv6
// checksum pseudo-header). If verifyChecksum is false the checksum is not
// checked (the link said the checksum was not ready, e.g. veth
// CHECKSUM_PARTIAL).
//
// b must end where the IP payload ends (IPv4 total length, IPv6 payload
// length), not where the frame ends: Ethernet pads short frames, and the
// ICMPv6 checksum covers the payload length.
//
// Returns ErrNotError for non-error types (echo, ND, ...), ErrChecksum,
// ErrTruncated (errors.Is io.ErrUnexpectedEOF), ErrBadQuote (quoted IP
// header malformed: IHL < 5, fewer than 8 bytes after it, IPv6 ext
// headers that overrun), ErrNotTCP (quoted protocol is not TCP),
// ErrAddrFamily (v6 with verifyChecksum and src or dst not IPv6). Zero
// allocations, never panics. The quoted IP header's total length is NOT
// required to fit (quotes are truncated by design).
//
// Checks run in this order: header length, error type, checksum, quote.
// *m is reset first and filled as far as parsing got, so after ErrNotTCP
// m.Quote holds the addresses and protocol; after any error the caller
// should not classify m.
//
// Error types are ICMPv4 3, 4, 5, 11 and 12 (those Linux's icmp_rcv hands to
// icmp_unreach/icmp_redirect) and every ICMPv6 type below 128 (RFC 4443
// §2.1; Linux icmpv6_rcv passes unknown error types up). ICMPv4 type 3 codes
// above 15 are parsed; Linux and BSD44 classify them as Ignore.
func Parse(b []byte, v6 bool, src, dst netip.Addr, verifyChecksum bool, m *Message) error {
	*m = Message{V6: v6}
	if len(b) < headerLen {
		return ErrTruncated
	}
	m.Type, m.Code = b[offType], b[offCode]
	if !isError(m.Type, v6) {
		return ErrNotError
	}
	if verifyChecksum {
		var initial uint32
		if v6 {
			if !src.Is6() || !dst.Is6() {
				return ErrAddrFamily
			}
			initial = wire.PseudoHeaderSum(src, dst, wire.ProtocolICMPv6, len(b))
		}
		if !wire.Valid(b, initial) {
			return ErrChecksum
		}
	}
	rest := binary.BigEndian.Uint32(b[offRest:])
	if v6 {
		switch ipv6.ICMPType(m.Type) {
		case ipv6.ICMPTypePacketTooBig:
			m.MTU = rest // RFC 4443 §3.2
		case ipv6.ICMPTypeParameterProblem:
			m.Pointer = rest // RFC 4443 §3.4
		}
		return parseQuote6(b[headerLen:], &m.Quote)
	}
	switch ipv4.ICMPType(m.Type) {
	case ipv4.ICMPTypeDestinationUnreachable:
		if m.Code == codeFragNeeded {
			m.MTU = uint32(binary.BigEndian.Uint16(b[offMTU4:])) // RFC 1191 §4
		}
	case ipv4.ICMPTypeParameterProblem:
		m.Pointer = rest >> 24 // RFC 792: pointer is the first octet
	}
	return parseQuote4(b[headerLen:], &m.Quote)
}

// codeFragNeeded is ICMPv4 destination unreachable code 4.
const codeFragNeeded = 4

// isError reports whether typ is an error message type of its family.
func isError(typ uint8, v6 bool) bool {
	if v6 {
		return typ < 128 // RFC 4443 §2.1: the high-order bit clear means error
	}
	switch typ {
	case uint8(ipv4.ICMPTypeDestinationUnreachable), typeSourceQuench4,
		uint8(ipv4.ICMPTypeRedirect), uint8(ipv4.ICMPTypeTimeExceeded),
		uint8(ipv4.ICMPTypeParameterProblem):
		return true
	}
	return false
}

// parseQuote4 reads an IPv4 header and 8 transport bytes from p, with the
// checks of Linux's icmp_unreach() and icmp_socket_deliver()
// (net/ipv4/icmp.c): IHL at least 5 and IHL*4+8 bytes present. The quoted
// version nibble is not checked, as the kernel does not.
func parseQuote4(p []byte, q *Quote) error {
	if len(p) < ip4MinLen {
		return ErrBadQuote
	}
	ihl := int(p[0]&0x0f) * 4
	if ihl < ip4MinLen || len(p) < ihl+transportLen {
		return ErrBadQuote
	}
	q.Src = netip.AddrFrom4([4]byte(p[ip4OffSrc : ip4OffSrc+4]))
	q.Dst = netip.AddrFrom4([4]byte(p[ip4OffDst : ip4OffDst+4]))
	q.Protocol = p[ip4OffProt]
	if q.Protocol != wire.ProtocolTCP {
		return ErrNotTCP
	}
	readTransport(p[ihl:], q)
	return nil
}

// parseQuote6 reads an IPv6 header, walks the extension headers with
// wire.SkipExtHeaders (Linux's ipv6_skip_exthdr(), which icmpv6_notify()
// calls) and reads 8 transport bytes. As in the kernel, the quoted version
// nibble is not checked.
func parseQuote6(p []byte, q *Quote) error {
	if len(p) < ip6Len {
		return ErrBadQuote
	}
	q.Src = netip.AddrFrom16([16]byte(p[ip6OffSrc : ip6OffSrc+16]))
	q.Dst = netip.AddrFrom16([16]byte(p[ip6OffDst : ip6OffDst+16]))
	next, off, _, err := wire.SkipExtHeaders(p, ip6Len, p[ip6OffNext])
	q.Protocol = next
	if err != nil {
		return ErrBadQuote
	}
	if next == wire.IPv6Fragment {
		// A non-first fragment quotes no transport header; Linux stops
		// here with nexthdr = FRAGMENT, which has no error handler.
		return ErrNotTCP
	}
	if len(p) < off+transportLen {
		return ErrBadQuote
	}
	if next != wire.ProtocolTCP {
		return ErrNotTCP
	}
	readTransport(p[off:], q)
	return nil
}

// readTransport reads ports and sequence number; len(t) >= 8.
func readTransport(t []byte, q *Quote) {
	q.SrcPort = binary.BigEndian.Uint16(t[0:])
	q.DstPort = binary.BigEndian.Uint16(t[2:])
	q.Seq = binary.BigEndian.Uint32(t[4:])
}
