package rx

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tcpprobe/tcpprobe/wire"
)

var lo4 = netip.MustParseAddr("127.0.0.1")

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// opts4 returns the golden SYN-ACK carrying IPv4 options opts (padded by
// the caller to a multiple of 4).
func opts4(opts ...byte) []byte {
	return ipv4(server4, client4, wire.ProtocolTCP, opts, tcpSeg(server4, client4, wire.SYN|wire.ACK, mssOpt, nil), nil)
}

// tcpOpts4 returns the golden SYN-ACK with TCP options opts.
func tcpOpts4(opts ...byte) []byte {
	return ipv4(server4, client4, wire.ProtocolTCP, nil, tcpSeg(server4, client4, wire.SYN|wire.ACK, opts, nil), nil)
}

// ext6 returns the golden IPv6 SYN-ACK behind extension headers; the
// first header's type is nh and the last must name TCP.
func ext6(nh uint8, hdrs ...[]byte) []byte {
	return ipv6(server6, client6, nh, append(hdrs, tcpSeg(server6, client6, wire.SYN|wire.ACK, mssOpt, nil))...)
}

func edit(b []byte, f func(b []byte)) []byte {
	b = append([]byte(nil), b...)
	f(b)
	return b
}

func TestInput(t *testing.T) {
	host := FrameInfo{PktType: PacketHost}
	v4 := FrameInfo{PktType: PacketHost, EtherType: EtherTypeIPv4}
	v6 := FrameInfo{PktType: PacketHost, EtherType: EtherTypeIPv6}
	md5 := append([]byte{wire.OptMD5, wire.OptMD5Len}, make([]byte, 16)...)
	ao := []byte{wire.OptAO, 6, 1, 1, 0, 0}
	nineDest := func() [][]byte {
		var h [][]byte
		for range 8 {
			h = append(h, optsHdr(wire.IPv6DestOptions))
		}
		return append(h, optsHdr(wire.ProtocolTCP))
	}
	tests := []struct {
		name    string
		frame   []byte
		info    FrameInfo
		cfg     func(*Config)
		want    Drop
		noTuple bool // the frame names no 4-tuple that can be read
		kind    Kind
		v6      bool
		reason  string     // what the case proves, when the name does not say
		remote  netip.Addr // the tuple's remote address when not the server's
	}{
		// The link layer.
		{name: "v4 SYN-ACK", frame: synack4(), info: host, kind: KindTCP},
		{name: "v6 SYN-ACK", frame: synack6(), info: host, kind: KindTCP, v6: true},
		{name: "EtherType v4", frame: synack4(), info: v4, kind: KindTCP},
		{name: "our own frame", frame: synack4(), info: FrameInfo{PktType: PacketOutgoing}, want: DropOutgoing, noTuple: true},
		{name: "other host's MAC", frame: synack4(), info: FrameInfo{PktType: PacketOtherHost}, want: DropOtherHost},
		{name: "ICMP to another host's MAC", frame: unreach4(quoteSYN4(iss)), info: FrameInfo{PktType: PacketOtherHost}, want: DropOtherHost},
		{name: "unknown packet type", frame: synack4(), info: FrameInfo{PktType: 7}, want: DropUnknownLinkType},
		{name: "SYN-ACK to the broadcast MAC", frame: synack4(), info: FrameInfo{PktType: PacketBroadcast}, want: DropNotHost},
		{name: "SYN-ACK to a multicast MAC, v6", frame: synack6(), info: FrameInfo{PktType: PacketMulticast}, want: DropNotHost, v6: true},
		{name: "ICMP error to the broadcast MAC is taken", frame: unreach4(quoteSYN4(iss)), info: FrameInfo{PktType: PacketBroadcast}, kind: KindICMP,
			reason: "ip_rcv_finish_core drops unicast in L2 broadcast only with drop_unicast_in_l2_multicast"},
		{name: "ICMP error to the broadcast MAC, drop_unicast_in_l2_multicast", frame: unreach4(quoteSYN4(iss)), info: FrameInfo{PktType: PacketBroadcast},
			cfg: func(c *Config) { c.DropUnicastInL2Multicast4 = true }, want: DropL2Multicast},
		{name: "ICMPv6 error to a multicast MAC, drop_unicast_in_l2_multicast", frame: unreach6(quoteSYN6(iss)), info: FrameInfo{PktType: PacketMulticast},
			cfg: func(c *Config) { c.DropUnicastInL2Multicast6 = true }, want: DropL2Multicast, v6: true},
		{name: "VLAN 5 on an untagged link", frame: synack4(), info: FrameInfo{VLANTagged: true, VLANID: 5}, want: DropVLAN},
		{name: "VLAN 5 on VLAN 5's interface", frame: synack4(), info: FrameInfo{VLANTagged: true, VLANID: 5, LinkVLAN: 5}, kind: KindTCP},
		{name: "priority tag (VID 0)", frame: synack4(), info: FrameInfo{VLANTagged: true, VLANID: 0x6000}, kind: KindTCP},

		// IPv4 header: ip_rcv_core.
		{name: "IPv6 bytes under the IPv4 EtherType", frame: synack6(), info: v4, want: DropIPVersion, v6: true},
		{name: "IPv4 bytes under the IPv6 EtherType", frame: synack4(), info: v6, want: DropIPVersion},
		{name: "shorter than an IPv4 header", frame: synack4()[:19], info: host, want: DropIPHeader, noTuple: true},
		{name: "IHL 4", frame: edit(synack4(), func(b []byte) { b[0] = 0x44; fixIPv4(b) }), info: host, want: DropIPHeader, noTuple: true},
		{name: "IHL past the packet", frame: edit(synack4()[:40], func(b []byte) { b[0] = 0x4f }), info: host, want: DropIPHeader, noTuple: true},
		{name: "IPv4 checksum", frame: edit(synack4(), func(b []byte) { b[wire.IPv4ChecksumOffset]++ }), info: host, want: DropIPChecksum},
		{name: "total length past the packet", frame: edit(synack4(), func(b []byte) { b[3] += 4; fixIPv4(b) }), info: host, want: DropIPTruncated},
		{name: "total length below IHL", frame: edit(synack4(), func(b []byte) { b[2], b[3] = 0, 16; fixIPv4(b) }), info: host, want: DropIPHeader},
		{name: "Ethernet padding is trimmed", frame: append(synack4(), 0, 0, 0, 0, 0, 0), info: host, kind: KindTCP},
		{name: "loopback source", frame: edit(synack4(), func(b []byte) { b[12] = 127; fixIPv4(b) }), info: host, want: DropIPMartian, remote: netip.MustParseAddr("127.18.2.2")},
		{name: "loopback source on lo", frame: ipv4(lo4, client4, wire.ProtocolTCP, nil, tcpSeg(lo4, client4, wire.SYN|wire.ACK, nil, nil), nil),
			info: FrameInfo{Loopback: true}, kind: KindTCP, remote: lo4},
		{name: "multicast source", frame: edit(synack4(), func(b []byte) { b[12] = 224; fixIPv4(b) }), info: host, want: DropIPMartian, remote: netip.MustParseAddr("224.18.2.2")},
		{name: "0/8 source", frame: edit(synack4(), func(b []byte) { b[12] = 0; fixIPv4(b) }), info: host, want: DropIPMartian, remote: netip.MustParseAddr("0.18.2.2")},

		// IPv4 options: ip_options_compile.
		{name: "NOPs", frame: opts4(1, 1, 1, 1), info: host, kind: KindTCP},
		{name: "EOL then junk", frame: opts4(0, 0xff, 0xff, 0xff), info: host, kind: KindTCP},
		{name: "record route of length 0", frame: opts4(7, 0, 4, 0), info: host, want: DropIPOptions},
		{name: "option length past the header", frame: opts4(7, 8, 4, 0), info: host, want: DropIPOptions},
		{name: "lone option type in the last byte", frame: opts4(1, 1, 1, 7), info: host, want: DropIPOptions},
		{name: "record route", frame: opts4(7, 7, 4, 0, 0, 0, 0, 1), info: host, kind: KindTCP},
		{name: "record route full", frame: opts4(7, 7, 8, 0, 0, 0, 0, 1), info: host, kind: KindTCP},
		{name: "record route pointer 3", frame: opts4(7, 7, 3, 0, 0, 0, 0, 1), info: host, want: DropIPOptions},
		{name: "record route pointer leaves < 4 bytes", frame: opts4(7, 7, 5, 0, 0, 0, 0, 1), info: host, want: DropIPOptions},
		{name: "record route twice", frame: opts4(7, 3, 4, 7, 3, 4, 1, 1), info: host, want: DropIPOptions},
		{name: "timestamp", frame: opts4(68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0), info: host, kind: KindTCP},
		{name: "timestamp pointer 4", frame: opts4(68, 12, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0), info: host, want: DropIPOptions},
		{name: "timestamp and address too short", frame: opts4(68, 8, 5, 1, 0, 0, 0, 0), info: host, want: DropIPOptions},
		{name: "timestamp full, overflow 15", frame: opts4(68, 8, 9, 0xf0, 0, 0, 0, 0), info: host, want: DropIPOptions},
		{name: "timestamp full, overflow 14", frame: opts4(68, 8, 9, 0xe0, 0, 0, 0, 0), info: host, kind: KindTCP},
		{name: "timestamp of length 3", frame: opts4(68, 3, 5, 1), info: host, want: DropIPOptions},
		{name: "router alert", frame: opts4(148, 4, 0, 0), info: host, kind: KindTCP},
		{name: "router alert of length 2", frame: opts4(148, 2, 1, 1), info: host, want: DropIPOptions},
		{name: "CIPSO (no DOI)", frame: opts4(134, 8, 0, 0, 0, 1, 0, 0), info: host, want: DropIPOptions},
		{name: "unknown option", frame: opts4(0x99, 4, 0, 0), info: host, kind: KindTCP},
		{name: "LSRR, accept_source_route 0", frame: opts4(131, 7, 8, 1, 2, 3, 4, 1), info: host, want: DropSourceRoute},
		{name: "SSRR, accept_source_route 0", frame: opts4(137, 7, 8, 1, 2, 3, 4, 1), info: host, want: DropSourceRoute},
		{name: "LSRR used up, accept_source_route 1", frame: opts4(131, 7, 8, 1, 2, 3, 4, 1), info: host,
			cfg: func(c *Config) { c.AcceptSourceRoute4 = true }, kind: KindTCP},
		{name: "LSRR with a hop left, accept_source_route 1", frame: opts4(131, 7, 4, 1, 2, 3, 4, 1), info: host,
			cfg: func(c *Config) { c.AcceptSourceRoute4 = true }, want: DropSourceRoute},
		{name: "LSRR pointer 3", frame: opts4(131, 7, 3, 1, 2, 3, 4, 1), info: host, want: DropIPOptions},
		{name: "LSRR twice", frame: opts4(131, 3, 4, 137, 3, 4, 1, 1), info: host, want: DropIPOptions},

		// Transport.
		{name: "UDP", frame: ipv4(server4, client4, 17, nil, make([]byte, 8), nil), info: host, want: DropNotTCPOrICMP, noTuple: true},
		{name: "TCP shorter than 20 bytes", frame: ipv4(server4, client4, wire.ProtocolTCP, nil, tcpSeg(server4, client4, wire.SYN|wire.ACK, nil, nil)[:19], nil),
			info: host, want: DropTCPHeader},
		{name: "TCP data offset 4", frame: ipv4(server4, client4, wire.ProtocolTCP, nil, edit(tcpSeg(server4, client4, wire.SYN|wire.ACK, nil, nil), func(b []byte) { b[12] = 4 << 4 }), nil),
			info: host, want: DropTCPHeader},
		{name: "TCP checksum", frame: edit(synack4(), func(b []byte) { b[20+wire.TCPChecksumOffset]++ }), info: host, want: DropTCPChecksum},
		{name: "TCP checksum not ready (veth)", frame: edit(synack4(), func(b []byte) { b[20+wire.TCPChecksumOffset]++ }), info: FrameInfo{ChecksumNotReady: true}, kind: KindTCP},
		{name: "TCP checksum v6", frame: edit(synack6(), func(b []byte) { b[40+wire.TCPChecksumOffset]++ }), info: host, want: DropTCPChecksum, v6: true},
		{name: "TCP-MD5 option", frame: tcpOpts4(md5...), info: host, want: DropTCPMD5},
		{name: "TCP-MD5 option, kernel without MD5", frame: tcpOpts4(md5...), info: host, cfg: func(c *Config) { c.KernelTCPMD5 = false }, kind: KindTCP},
		{name: "TCP-AO option, kernel without AO", frame: tcpOpts4(ao...), info: host, kind: KindTCP},
		{name: "TCP-AO option, kernel with AO", frame: tcpOpts4(ao...), info: host, cfg: func(c *Config) { c.KernelTCPAO = true }, want: DropTCPAO},
		{name: "TCP-MD5 option of length 10 among 20 bytes", frame: tcpOpts4(cat([]byte{wire.OptMD5, 10}, make([]byte, 8), mssOpt, []byte{1, 1, 1, 1, 1, 1})...), info: host, want: DropTCPAuthHeader},
		// The kernel's walk stops with fewer than 18 bytes left: AO after
		// MD5 goes unseen.
		{name: "TCP-AO after TCP-MD5", frame: tcpOpts4(cat(md5, ao)...), info: host, want: DropTCPMD5},
		{name: "TCP-MD5 after TCP-AO", frame: tcpOpts4(cat(ao, md5)...), info: host, want: DropTCPAuthHeader},
		{name: "malformed option in the last 17 bytes passes", frame: tcpOpts4(1, 1, 1, 1, 30, 0), info: host, kind: KindTCP},

		// ICMP.
		{name: "ICMP host unreachable", frame: unreach4(quoteSYN4(iss)), info: host, kind: KindICMP},
		{name: "ICMPv6 address unreachable", frame: unreach6(quoteSYN6(iss)), info: host, kind: KindICMP, v6: true},
		{name: "ICMP checksum", frame: edit(unreach4(quoteSYN4(iss)), func(b []byte) { b[22]++ }), info: host, want: DropICMPChecksum},
		{name: "ICMPv6 checksum", frame: edit(unreach6(quoteSYN6(iss)), func(b []byte) { b[42]++ }), info: host, want: DropICMPChecksum, v6: true},
		{name: "ICMP echo reply", frame: ipv4(router4, client4, wire.ProtocolICMP, nil, icmpErr(false, router4, client4, 0, 0, make([]byte, 8)), nil), info: host, want: DropICMPNotError, noTuple: true},
		{name: "ICMP shorter than its header", frame: ipv4(router4, client4, wire.ProtocolICMP, nil, []byte{3, 1, 0, 0}, nil), info: host, want: DropICMPHeader, noTuple: true},
		{name: "ICMP quote cut", frame: unreach4(quoteSYN4(iss)[:27]), info: host, want: DropICMPQuote, noTuple: true},
		{name: "ICMP quoting UDP", frame: unreach4(edit(quoteSYN4(iss), func(b []byte) { b[9] = 17; fixIPv4(b) })), info: host, want: DropICMPQuoteNotTCP, noTuple: true},
		{name: "ICMP quote with version nibble 5", frame: unreach4(edit(quoteSYN4(iss), func(b []byte) { b[0] = 0x55 })), info: host, kind: KindICMP},

		// IPv6 header and extension headers.
		{name: "v6 shorter than its header", frame: synack6()[:39], info: host, want: DropIP6Header, v6: true, noTuple: true},
		{name: "v6 payload length past the packet", frame: edit(synack6(), func(b []byte) { b[5] += 8 }), info: host, want: DropIPTruncated, v6: true},
		{name: "v6 loopback source", frame: edit(synack6(), func(b []byte) { copy(b[8:24], make([]byte, 16)); b[23] = 1 }), info: host, want: DropIP6Header, v6: true, remote: netip.IPv6Loopback()},
		{name: "v6 multicast source", frame: edit(synack6(), func(b []byte) { b[8] = 0xff }), info: host, want: DropIP6Header, v6: true, remote: netip.MustParseAddr("ff00:2::2")},
		{name: "hop-by-hop with PadN", frame: ext6(wire.IPv6HopByHop, optsHdr(wire.ProtocolTCP)), info: host, kind: KindTCP, v6: true},
		{name: "hop-by-hop after destination options", frame: ext6(wire.IPv6DestOptions, optsHdr(wire.IPv6HopByHop), optsHdr(wire.ProtocolTCP)), info: host, want: DropIP6UnknownHeader, v6: true},
		{name: "nine destination options headers", frame: ext6(wire.IPv6DestOptions, nineDest()...), info: host, kind: KindTCP, v6: true},
		{name: "dest option 0x1e (action 00: skip)", frame: ext6(wire.IPv6DestOptions, optsHdr(wire.ProtocolTCP, 0x1e, 2, 0, 0)), info: host, kind: KindTCP, v6: true},
		{name: "dest option 0x5e (action 01: discard)", frame: ext6(wire.IPv6DestOptions, optsHdr(wire.ProtocolTCP, 0x5e, 2, 0, 0)), info: host, want: DropIP6OptionAction, v6: true},
		{name: "dest option 0x80 (action 10: discard, ICMP)", frame: ext6(wire.IPv6DestOptions, optsHdr(wire.ProtocolTCP, 0x80, 2, 0, 0)), info: host, want: DropIP6OptionAction, v6: true},
		{name: "dest option 0xde (action 11)", frame: ext6(wire.IPv6DestOptions, optsHdr(wire.ProtocolTCP, 0xde, 2, 0, 0)), info: host, want: DropIP6OptionAction, v6: true},
		{name: "home address option without Mobile IPv6", frame: ext6(wire.IPv6DestOptions, optsHdr(wire.ProtocolTCP, 0xc9, 0)), info: host, want: DropIP6OptionAction, v6: true},
		{name: "unknown 00 option, max_dst_opts_number -8", frame: ext6(wire.IPv6DestOptions, optsHdr(wire.ProtocolTCP, 0x1e, 0)), info: host,
			cfg: func(c *Config) { c.MaxDstOptsNumber = -8 }, want: DropIP6OptionAction, v6: true},
		{name: "nine options in one header", frame: ext6(wire.IPv6DestOptions, optsHdr(wire.ProtocolTCP, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0)), info: host, want: DropIP6Option, v6: true},
		{name: "eight options in one header", frame: ext6(wire.IPv6DestOptions, optsHdr(wire.ProtocolTCP, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0, 0x1e, 0)), info: host, kind: KindTCP, v6: true},
		{name: "eight Pad1 in a row", frame: ext6(wire.IPv6DestOptions, []byte{wire.ProtocolTCP, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), info: host, want: DropIP6Option, v6: true},
		{name: "PadN with a non-zero byte", frame: ext6(wire.IPv6DestOptions, []byte{wire.ProtocolTCP, 0, 1, 4, 0, 0, 1, 0}), info: host, want: DropIP6Option, v6: true},
		{name: "PadN of 8 bytes", frame: ext6(wire.IPv6DestOptions, []byte{wire.ProtocolTCP, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), info: host, want: DropIP6Option, v6: true},
		{name: "option past the header", frame: ext6(wire.IPv6DestOptions, []byte{wire.ProtocolTCP, 0, 0x1e, 5, 0, 0, 0, 0}), info: host, want: DropIP6Option, v6: true},
		{name: "destination options longer than max_dst_opts_length", frame: ext6(wire.IPv6DestOptions, optsHdr(wire.ProtocolTCP, 0x1e, 8, 0, 0, 0, 0, 0, 0, 0, 0)), info: host,
			cfg: func(c *Config) { c.MaxDstOptsLength = 8 }, want: DropIP6ExtHeader, v6: true},
		{name: "destination options cut short", frame: edit(ext6(wire.IPv6DestOptions, optsHdr(wire.ProtocolTCP)), func(b []byte) { b[41] = 200 }), info: host, want: DropIP6ExtHeader, v6: true, noTuple: true},
		{name: "router alert", frame: ext6(wire.IPv6HopByHop, optsHdr(wire.ProtocolTCP, tlvRouterAlert, 2, 0, 0)), info: host, kind: KindTCP, v6: true},
		{name: "router alert of length 1", frame: ext6(wire.IPv6HopByHop, optsHdr(wire.ProtocolTCP, tlvRouterAlert, 1, 0)), info: host, want: DropIP6Option, v6: true},
		{name: "jumbo payload option", frame: ext6(wire.IPv6HopByHop, optsHdr(wire.ProtocolTCP, tlvJumbo, 4, 0, 1, 0, 0)), info: host, want: DropIP6Option, v6: true},
		{name: "CALIPSO option", frame: ext6(wire.IPv6HopByHop, optsHdr(wire.ProtocolTCP, tlvCALIPSO, 2, 0, 0)), info: host, want: DropIP6Option, v6: true},
		{name: "IOAM option aligned (ioam6 off: skipped)", frame: ext6(wire.IPv6HopByHop, optsHdr(wire.ProtocolTCP, tlvPadN, 0, tlvIOAM, 2, 0, 0)), info: host, kind: KindTCP, v6: true},
		{name: "IOAM option misaligned", frame: ext6(wire.IPv6HopByHop, optsHdr(wire.ProtocolTCP, tlvIOAM, 2, 0, 0)), info: host, want: DropIP6Option, v6: true},
		{name: "routing type 0, segments left 1", frame: ext6(wire.IPv6Routing, rtHdr(wire.ProtocolTCP, rtType0, 1)), info: host, want: DropIP6Routing, v6: true},
		{name: "routing type 0, segments left 0", frame: ext6(wire.IPv6Routing, rtHdr(wire.ProtocolTCP, rtType0, 0)), info: host, kind: KindTCP, v6: true},
		{name: "routing type 2, segments left 1", frame: ext6(wire.IPv6Routing, rtHdr(wire.ProtocolTCP, rtType2, 1)), info: host, want: DropIP6Routing, v6: true},
		{name: "segment routing header, seg6 off", frame: ext6(wire.IPv6Routing, rtHdr(wire.ProtocolTCP, rtTypeSRH, 0)), info: host, want: DropIP6Routing, v6: true},
		{name: "segment routing header, seg6 on", frame: ext6(wire.IPv6Routing, rtHdr(wire.ProtocolTCP, rtTypeSRH, 0)), info: host,
			cfg: func(c *Config) { c.Seg6Enabled = true }, kind: KindTCP, v6: true},
		{name: "RPL header, off", frame: ext6(wire.IPv6Routing, rtHdr(wire.ProtocolTCP, rtTypeRPL, 0)), info: host, want: DropIP6Routing, v6: true},
		{name: "routing header in an L2 broadcast", frame: ipv6(router6, client6, wire.IPv6Routing, rtHdr(wire.ProtocolICMPv6, rtType0, 0), icmpErr(true, router6, client6, 1, 3, quoteSYN6(iss))),
			info: FrameInfo{PktType: PacketBroadcast}, want: DropIP6Routing, v6: true},
		{name: "AH", frame: ext6(wire.IPv6AH, []byte{wire.ProtocolTCP, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), info: host, want: DropIP6UnknownHeader, v6: true},
		{name: "ESP", frame: ipv6(server6, client6, ipprotoESP, make([]byte, 16)), info: host, want: DropIP6UnknownHeader, v6: true, noTuple: true},
		{name: "no next header", frame: ipv6(server6, client6, wire.IPv6NoNextHdr), info: host, want: DropIP6UnknownHeader, v6: true, noTuple: true},
		{name: "atomic fragment", frame: ext6(wire.IPv6Fragment, fragHdr(wire.ProtocolTCP, 0, false, 7)), info: host, kind: KindTCP, v6: true},
		{name: "first fragment without the whole TCP header", frame: ipv6(server6, client6, wire.IPv6Fragment, fragHdr(wire.ProtocolTCP, 0, true, 7), synack6()[40:56]), info: host, want: DropFragHeader, v6: true},
		{name: "UDP v6", frame: ipv6(server6, client6, ipprotoUDP, make([]byte, 8)), info: host, want: DropNotTCPOrICMP, v6: true, noTuple: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			p := NewPipeline(cfg)
			var out Packet
			d, ok := p.Input(tt.frame, tt.info, t0, &out)
			if d != tt.want || ok != (tt.want == DropNone) {
				t.Fatalf("Input = %v, %v; want %v (%s)", d, ok, tt.want, tt.reason)
			}
			if out.Kind != tt.kind {
				t.Errorf("Kind = %v, want %v", out.Kind, tt.kind)
			}
			want := tuple4
			if tt.v6 {
				want = tuple6
			}
			if tt.remote.IsValid() {
				want.Remote = tt.remote
			}
			if out.HasTuple == tt.noTuple {
				t.Errorf("HasTuple = %v, want %v", out.HasTuple, !tt.noTuple)
			} else if !tt.noTuple {
				if diff := cmp.Diff(want, out.Tuple, cmp.Comparer(func(a, b Tuple) bool { return a == b })); diff != "" {
					t.Errorf("Tuple (-want +got):\n%s", diff)
				}
			}
			if ok && !out.ChecksumOK {
				t.Error("a delivered packet has ChecksumOK false")
			}
			if ok && out.Kind == KindTCP && (out.Seg.Flags != wire.SYN|wire.ACK || out.Seg.Ack != iss+1) {
				t.Errorf("segment %v ack %#x, want the golden SYN-ACK", out.Seg.Flags, out.Seg.Ack)
			}
			if ok && out.Kind == KindICMP && out.Msg.Quote.Seq != iss {
				t.Errorf("quoted seq %#x, want %#x", out.Msg.Quote.Seq, iss)
			}
			if c := p.Counts(); c[d] != 1 || p.Count(d) != 1 || p.Count(Drop(250)) != 0 {
				t.Errorf("Counts()[%v] = %d, Count = %d, want 1", d, c[d], p.Count(d))
			}
		})
	}
}

// TestDropWords: every reason has a unique word and names its kernel
// function.
func TestDropWords(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Drops() {
		w := d.String()
		if w == "" || seen[w] {
			t.Errorf("drop %d: word %q empty or repeated", d, w)
		}
		seen[w] = true
		if d.Kernel() == "" {
			t.Errorf("drop %v names no kernel function", d)
		}
	}
	if got := Drop(200).String(); got != "drop(200)" {
		t.Errorf("Drop(200) = %q", got)
	}
}

var _ = binary.BigEndian
