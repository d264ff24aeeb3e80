package e2e

import (
	"encoding/binary"

	"github.com/tcpprobe/tcpprobe/internal/spoof"
	"github.com/tcpprobe/tcpprobe/wire"
)

// forgedCase is one forged reply: what the forger sends to each SYN on the
// case's own port, and what this host's kernel connect() made of it when
// the case was written (verified live in the lab; the test checks it
// again at every run and compares tcpprobe with the live answer). A
// verdict is "open", an errno name, "timeout" (no answer within the
// bound) or "" (the case does not exist in that family).
type forgedCase struct {
	name   string
	what   string
	v4, v6 string
	answer func(k kit) []spoof.Send
}

const (
	vOpen    = "open"
	vTimeout = "timeout"
)

// Shorthands of the table.
var (
	synAckFlags = wire.SYN | wire.ACK
	nop4        = spoof.OptNOP4
)

// forgedCases is the suite: the rows of issue 11, then the rest; case i
// is on port forgedBasePort+i.
var forgedCases = append(issueCases, moreCases...)

// issueCases are the rows of issue 11's table. Cut points are in bytes of
// the upper-layer message (multiples of 8).
var issueCases = []forgedCase{
	{"ip-option-malformed", "v4: SYN-ACK with record-route option of length 0; v6: dest-opts option type 0x80 (action: discard + ICMP)", vTimeout, vTimeout, func(k kit) []spoof.Send {
		if k.v6() {
			return one(withExt(k.synAck(), destOpts(0x80)))
		}
		return one(withIPOptions(k.synAck(), []byte{7, 0, 4, 0}))
	}},
	{"source-route", "v4: SYN-ACK with an LSRR option (accept_source_route=0); v6: routing header type 0, segments left 1", vTimeout, vTimeout, func(k kit) []spoof.Send {
		if k.v6() {
			return one(withExt(k.synAck(), routing(0, 1)))
		}
		return one(withIPOptions(k.synAck(), []byte{131, 7, 4, 198, 18, 2, 9, 1}))
	}},
	{"ssrr", "SYN-ACK with an SSRR option", vTimeout, "", func(k kit) []spoof.Send {
		return one(withIPOptions(k.synAck(), []byte{137, 7, 4, 198, 18, 2, 9, 1}))
	}},
	{"nine-dest-opts", "SYN-ACK behind 9 destination-options headers (PadN)", "", vOpen, func(k kit) []spoof.Send {
		return one(withExt(k.synAck(), each(9, destOpts(1))...))
	}},
	{"frag-synack", "SYN-ACK in two fragments, 24 TCP bytes in the first, in order", vOpen, vOpen, func(k kit) []spoof.Send {
		return frags(k.synAck(), []int{0, 1}, 24)
	}},
	{"frag-synack-reversed", "SYN-ACK in two fragments, 24 TCP bytes in the first, last fragment first", vOpen, vOpen, func(k kit) []spoof.Send {
		return frags(k.synAck(), []int{1, 0}, 24)
	}},
	{"frag-synack-8-bytes", "SYN-ACK in two fragments, only 8 TCP bytes in the first (v6: the header chain must be whole, RFC 7112)", vOpen, vTimeout, func(k kit) []spoof.Send {
		return frags(k.synAck(), []int{0, 1}, 8)
	}},
	{"frag-lone-first", "first fragment alone (MF=1), its TCP checksum valid over the fragment", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return loneFirst(k.synAck(), 24, 16)
	}},
	{"frag-icmp-lone-first", "ICMP host unreachable as a lone first fragment (quote's ports and seq inside)", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return loneFirst(k.icmp(hostUnreach, k.quote()), icmpCut(k), 2)
	}},
	{"frag-icmp", "ICMP host unreachable in two fragments", "EHOSTUNREACH", "EHOSTUNREACH", func(k kit) []spoof.Send {
		return frags(k.icmp(hostUnreach, k.quote()), []int{0, 1}, icmpCut(k))
	}},
	{"vlan-tagged", "SYN-ACK in an 802.1Q frame, VLAN 5 (the interface is untagged)", vTimeout, vTimeout, func(k kit) []spoof.Send {
		s := one(k.synAck())
		s[0].VLAN = 5
		return s
	}},
	{"broadcast-mac", "SYN-ACK to the broadcast MAC", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return to(broadcastMAC, k.synAck())
	}},
	{"other-mac", "SYN-ACK to another host's unicast MAC", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return to(otherMAC, k.synAck())
	}},
	{"icmp-other-mac", "ICMP host unreachable to another host's unicast MAC", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return to(otherMAC, k.icmp(hostUnreach, k.quote()))
	}},
	{"paws-tsecr-future", "SYN-ACK whose TSecr is TSval+1,000,000 (PAWS)", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return one(k.synAck(options(k.opts(k.tsval() + 1_000_000))))
	}},
	{"md5-option", "SYN-ACK carrying an (unexpected) TCP-MD5 option", vTimeout, vTimeout, func(k kit) []spoof.Send {
		return one(k.synAck(options(spoof.Join(spoof.OptMSS1460, md5Option, []byte{1, 1}))))
	}},
	{"simultaneous-open-ack", "SYN without ACK, then ACK = ISS+1", vOpen, vOpen, func(k kit) []spoof.Send {
		return send(k.synOnly().Bytes(), k.tcp(spoof.TCPSpec{SrcPort: k.s.Seg.DstPort, DstPort: k.s.Seg.SrcPort,
			Seq: serverISN + 1, Ack: k.iss() + 1, Flags: wire.ACK, Window: 65160}).Bytes())
	}},
	{"simultaneous-open-rst", "SYN without ACK, then RST at its SEQ+1", "ECONNRESET", "ECONNRESET", func(k kit) []spoof.Send {
		return send(k.synOnly().Bytes(), k.tcp(spoof.TCPSpec{SrcPort: k.s.Seg.DstPort, DstPort: k.s.Seg.SrcPort,
			Seq: serverISN + 1, Flags: wire.RST}).Bytes())
	}},
	{"icmp-quote-iss+1", "ICMP host unreachable quoting seq ISS+1", "EHOSTUNREACH", "EHOSTUNREACH", func(k kit) []spoof.Send {
		return one(k.icmp(hostUnreach, k.quoteSeq(k.iss()+1)))
	}},
	{"icmp-quote-version", "ICMP host unreachable whose quoted IP header has the other version nibble", "EHOSTUNREACH", "EHOSTUNREACH", func(k kit) []spoof.Send {
		q := k.quote()
		q[0] ^= (4 ^ 6) << 4
		return one(k.icmp(hostUnreach, q))
	}},
	{"wrong-ack-then-good", "SYN-ACK with ACK = ISS+1000 to the first SYN, a good SYN-ACK to the next", vOpen, vOpen, func(k kit) []spoof.Send {
		if k.n == 1 {
			return one(k.synAck(ack(k.iss() + 1000)))
		}
		return one(k.synAck())
	}},
}

// md5Option is a TCP-MD5 signature option (RFC 2385): kind 19, 18 bytes.
var md5Option = append([]byte{19, 18}, make([]byte, 16)...)

// aoOption is a TCP-AO option (RFC 5925): kind 29, key IDs 1 and 1, a
// 12-byte MAC: 16 bytes.
var aoOption = append([]byte{29, 16, 1, 1}, make([]byte, 12)...)

// synOnly is a SYN without ACK from the target: a simultaneous open.
func (k kit) synOnly() spoof.Packet {
	return k.tcp(spoof.TCPSpec{SrcPort: k.s.Seg.DstPort, DstPort: k.s.Seg.SrcPort,
		Seq: serverISN, Flags: wire.SYN, Window: 65160, Options: spoof.OptMSS1460})
}

// icmpCut is where to cut an ICMP error quoting the SYN so that the first
// fragment holds the ICMP header, the quoted IP header and the quoted
// ports and sequence number.
func icmpCut(k kit) int {
	if k.v6() {
		return 8 + 40 + 8
	}
	return 8 + 20 + 12
}

// addIPLength adds d to the IP packet's length field (total length or
// payload length) without changing its bytes.
func addIPLength(b []byte, d int) []byte {
	if b[0]>>4 == 6 {
		binary.BigEndian.PutUint16(b[4:], uint16(int(binary.BigEndian.Uint16(b[4:]))+d))
		return b
	}
	binary.BigEndian.PutUint16(b[2:], uint16(int(binary.BigEndian.Uint16(b[2:]))+d))
	return spoof.FixIPv4Checksum(b)
}

// setTTL0 sets the TTL or hop limit of an IP packet to 0.
func setTTL0(b []byte) []byte {
	if b[0]>>4 == 6 {
		b[7] = 0
		return b
	}
	b[8] = 0
	return spoof.FixIPv4Checksum(b)
}

// quoteWithNOPs inserts 4 NOP options into the IPv4 header of a quote.
func quoteWithNOPs(q []byte) []byte {
	out := append(append(append([]byte(nil), q[:20]...), 1, 1, 1, 1), q[20:]...)
	out[0] = 0x46
	binary.BigEndian.PutUint16(out[2:], uint16(len(out)))
	return spoof.FixIPv4Checksum(out)
}
