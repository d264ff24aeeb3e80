package spoof

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/tcpprobe/tcpprobe/wire"
)

var (
	src4 = netip.MustParseAddr("198.18.2.2")
	dst4 = netip.MustParseAddr("198.18.1.2")
	src6 = netip.MustParseAddr("fd00:2::2")
	dst6 = netip.MustParseAddr("fd00:1::2")
)

// synAck is a SYN-ACK with options, 40 bytes of TCP.
func synAck(src, dst netip.Addr) []byte {
	return TCP(src, dst, TCPSpec{SrcPort: 80, DstPort: 40000, Seq: 7, Ack: 1001,
		Flags: wire.SYN | wire.ACK, Window: 65160, Options: Join(OptMSS1460, OptTimestamps(5, 6), OptNOP4)})
}

// TestPacketBytes: what Bytes builds parses back with wire to the same
// fields, with a valid TCP checksum, in both families, with IPv4 options
// and IPv6 extension headers.
func TestPacketBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Packet
		want wire.IPInfo
	}{
		{"v4", Packet{Src: src4, Dst: dst4, Proto: wire.ProtocolTCP, TTL: 61, L4: synAck(src4, dst4)},
			wire.IPInfo{Version: 4, Src: src4, Dst: dst4, TTL: 61, Protocol: wire.ProtocolTCP, HeaderLen: 20, FirstFragment: true}},
		{"v4 options", Packet{Src: src4, Dst: dst4, Proto: wire.ProtocolTCP, IPOptions: []byte{1, 1, 1}, L4: synAck(src4, dst4)},
			wire.IPInfo{Version: 4, Src: src4, Dst: dst4, TTL: 64, Protocol: wire.ProtocolTCP, HeaderLen: 24, FirstFragment: true}},
		{"v6", Packet{Src: src6, Dst: dst6, Proto: wire.ProtocolTCP, TTL: 61, L4: synAck(src6, dst6)},
			wire.IPInfo{Version: 6, Src: src6, Dst: dst6, TTL: 61, Protocol: wire.ProtocolTCP, HeaderLen: 40, FirstFragment: true}},
		{"v6 dest-opts", Packet{Src: src6, Dst: dst6, Proto: wire.ProtocolTCP, L4: synAck(src6, dst6),
			Ext: []Ext{{ExtDestOpts, []byte{0, 0, 1, 4, 0, 0, 0, 0}}}},
			wire.IPInfo{Version: 6, Src: src6, Dst: dst6, TTL: 64, Protocol: wire.ProtocolTCP, HeaderLen: 48, FirstFragment: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ip wire.IPInfo
			payload, err := wire.ParseIP(tc.p.Bytes(), &ip)
			if err != nil {
				t.Fatal(err)
			}
			if ip != tc.want {
				t.Errorf("IP header %+v, want %+v", ip, tc.want)
			}
			if !bytes.Equal(payload, tc.p.L4) || !wire.TCPChecksumValid(ip.Src, ip.Dst, payload) {
				t.Errorf("payload %x (checksum valid: %v), want %x", payload, wire.TCPChecksumValid(ip.Src, ip.Dst, payload), tc.p.L4)
			}
		})
	}
}

// TestFragments: the fragments of a packet carry its upper-layer bytes at
// their offsets, More Fragments on all but the last.
func TestFragments(t *testing.T) {
	for _, p := range []Packet{
		{Src: src4, Dst: dst4, Proto: wire.ProtocolTCP, ID: 0x1234, L4: synAck(src4, dst4)},
		{Src: src6, Dst: dst6, Proto: wire.ProtocolTCP, ID: 0x1234, L4: synAck(src6, dst6)},
	} {
		fs := p.Fragments(8, 24)
		if len(fs) != 3 {
			t.Fatalf("%d fragments, want 3", len(fs))
		}
		var got []byte
		for i, f := range fs {
			var ip wire.IPInfo
			payload, err := wire.ParseIP(f, &ip)
			if err != nil {
				t.Fatalf("fragment %d: %v", i, err)
			}
			if !ip.Fragment || ip.FirstFragment != (i == 0) {
				t.Errorf("fragment %d: Fragment %v FirstFragment %v", i, ip.Fragment, ip.FirstFragment)
			}
			got = append(got, payload...)
		}
		if !bytes.Equal(got, p.L4) {
			t.Errorf("fragments hold %x, want %x", got, p.L4)
		}
	}
}

// TestICMPChecksum: ICMP and ICMPv6 messages verify (ICMPv6 over its
// pseudo-header).
func TestICMPChecksum(t *testing.T) {
	q := Packet{Src: dst4, Dst: src4, Proto: wire.ProtocolTCP, L4: synAck(dst4, src4)}.Bytes()
	if m := ICMP(src4, dst4, 3, 1, q); !wire.Valid(m, 0) {
		t.Errorf("ICMP checksum does not verify")
	}
	q6 := Packet{Src: dst6, Dst: src6, Proto: wire.ProtocolTCP, L4: synAck(dst6, src6)}.Bytes()
	if m := ICMP(src6, dst6, 1, 3, q6); !wire.Valid(m, wire.PseudoHeaderSum(src6, dst6, 58, len(m))) {
		t.Errorf("ICMPv6 checksum does not verify")
	}
}
