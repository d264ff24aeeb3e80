package wire

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// These tests check the codec against an independent implementation:
// gopacket decodes what EncodeSegment writes, and ParseIP/ParseTCP decode
// what gopacket serializes.

// crossSpecs are the golden specs plus variants that exercise every field.
func crossSpecs() []SegmentSpec {
	var specs []SegmentSpec
	for _, g := range goldens() {
		specs = append(specs, g.spec)
	}
	opts := []Options{
		{},
		{MSS: 536, HasMSS: true},
		{HasTimestamps: true, TSVal: 0xffffffff, TSEcr: 1},
		{SACKPermitted: true},
		{WScale: 14, HasWScale: true},
		{SACKPermitted: true, HasWScale: true, WScale: 0},
		{MSS: 65535, HasMSS: true, HasTimestamps: true, TSVal: 7, TSEcr: 8, HasWScale: true, WScale: 2},
	}
	for i, o := range opts {
		for _, v6 := range []bool{false, true} {
			s := SegmentSpec{
				Src: netip.MustParseAddr("198.19.255.254"), Dst: netip.MustParseAddr("198.18.0.1"),
				TTL: uint8(1 + i), TOS: uint8(i << 2), ID: uint16(0xfff0 + i), NoDF: i%2 == 1,
				SrcPort: uint16(40000 + i), DstPort: 1, Seq: 0xfffffff0 + uint32(i), Ack: uint32(i) * 0x01010101,
				Flags: Flags(1 << i), Window: uint16(i * 1000), Options: o,
			}
			if v6 {
				s.Src, s.Dst = netip.MustParseAddr("fd00::ffff:1"), netip.MustParseAddr("fd12:3456::2")
				s.FlowLabel = 0xfffff - uint32(i)
			}
			specs = append(specs, s)
		}
	}
	specs = append(specs, SegmentSpec{
		Src: goldenSrc4, Dst: goldenDst4, TTL: 255, Flags: SYN | ACK | PSH | URG | ECE | CWR | FIN | RST,
		Options: linuxSYNOptions(1460),
	})
	return specs
}

// gopacketOptions converts gopacket's decoded TCP options into Options,
// checking the lengths gopacket reports.
func gopacketOptions(t *testing.T, tcp *layers.TCP) (o Options, kinds []layers.TCPOptionKind) {
	t.Helper()
	for _, opt := range tcp.Options {
		kinds = append(kinds, opt.OptionType)
		d := opt.OptionData
		switch opt.OptionType {
		case layers.TCPOptionKindMSS:
			if len(d) != 2 {
				t.Fatalf("gopacket MSS data %x", d)
			}
			o.MSS, o.HasMSS = binary.BigEndian.Uint16(d), true
		case layers.TCPOptionKindWindowScale:
			if len(d) != 1 {
				t.Fatalf("gopacket window scale data %x", d)
			}
			o.WScale, o.HasWScale = d[0], true
		case layers.TCPOptionKindSACKPermitted:
			o.SACKPermitted = true
		case layers.TCPOptionKindTimestamps:
			if len(d) != 8 {
				t.Fatalf("gopacket timestamps data %x", d)
			}
			o.HasTimestamps, o.TSVal, o.TSEcr = true, binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])
		case layers.TCPOptionKindNop, layers.TCPOptionKindEndList:
		default:
			t.Fatalf("gopacket found option kind %v we never write", opt.OptionType)
		}
	}
	return o, kinds
}

// wantKinds is the Linux tcp_options_write order for o, NOPs included.
func wantKinds(o Options) []layers.TCPOptionKind {
	var k []layers.TCPOptionKind
	if o.HasMSS {
		k = append(k, layers.TCPOptionKindMSS)
	}
	switch {
	case o.HasTimestamps && o.SACKPermitted:
		k = append(k, layers.TCPOptionKindSACKPermitted, layers.TCPOptionKindTimestamps)
	case o.HasTimestamps:
		k = append(k, layers.TCPOptionKindNop, layers.TCPOptionKindNop, layers.TCPOptionKindTimestamps)
	case o.SACKPermitted:
		k = append(k, layers.TCPOptionKindNop, layers.TCPOptionKindNop, layers.TCPOptionKindSACKPermitted)
	}
	if o.HasWScale {
		k = append(k, layers.TCPOptionKindNop, layers.TCPOptionKindWindowScale)
	}
	return k
}

func ttlOf(s SegmentSpec) uint8 {
	if s.TTL == 0 {
		return DefaultTTL
	}
	return s.TTL
}

func TestEncodeSegmentDecodedByGopacket(t *testing.T) {
	for i, s := range crossSpecs() {
		t.Run(s.Src.String()+"/"+s.Flags.String()+"/"+string(rune('a'+i)), func(t *testing.T) {
			b := encode(t, s)
			var (
				first  gopacket.LayerType
				netLay gopacket.SerializableLayer
			)
			if s.Src.Is4() {
				first = layers.LayerTypeIPv4
			} else {
				first = layers.LayerTypeIPv6
			}
			p := gopacket.NewPacket(b, first, gopacket.Default)
			if el := p.ErrorLayer(); el != nil {
				t.Fatalf("gopacket cannot decode % x: %v", b, el.Error())
			}
			tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if !ok {
				t.Fatalf("gopacket found no TCP layer in % x", b)
			}
			addr := func(ip net.IP) netip.Addr { a, _ := netip.AddrFromSlice(ip); return a }

			type ipFields struct {
				Src, Dst      string
				TTL, TOS      uint8
				ID            uint16
				DF            bool
				FlowLabel     uint32
				Protocol      uint8
				Length        uint16
				FragmentOfset uint16
			}
			want := ipFields{Src: s.Src.String(), Dst: s.Dst.String(), TTL: ttlOf(s), TOS: s.TOS, Protocol: 6, Length: uint16(len(b))}
			var got ipFields
			if ip4, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
				netLay = ip4
				want.ID, want.DF = s.ID, !s.NoDF
				got = ipFields{
					Src: addr(ip4.SrcIP).String(), Dst: addr(ip4.DstIP).String(), TTL: ip4.TTL, TOS: ip4.TOS,
					ID: ip4.Id, DF: ip4.Flags&layers.IPv4DontFragment != 0, Protocol: uint8(ip4.Protocol),
					Length: ip4.Length, FragmentOfset: ip4.FragOffset,
				}
				if ip4.Flags&layers.IPv4MoreFragments != 0 || ip4.IHL != 5 {
					t.Errorf("IPv4 flags %v IHL %d, want no MF and IHL 5", ip4.Flags, ip4.IHL)
				}
			} else {
				ip6 := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				netLay = ip6
				want.FlowLabel = s.FlowLabel
				want.Length -= IPv6Len
				got = ipFields{
					Src: addr(ip6.SrcIP).String(), Dst: addr(ip6.DstIP).String(), TTL: ip6.HopLimit, TOS: ip6.TrafficClass,
					FlowLabel: ip6.FlowLabel, Protocol: uint8(ip6.NextHeader), Length: ip6.Length,
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("IP header as gopacket reads it (-want +got):\n%s", diff)
			}

			type tcpFields struct {
				SrcPort, DstPort uint16
				Seq, Ack         uint32
				Flags            Flags
				Window, Urgent   uint16
				DataOffset       int
				Options          Options
				Kinds            []layers.TCPOptionKind
			}
			var f Flags
			for bit, set := range []bool{tcp.FIN, tcp.SYN, tcp.RST, tcp.PSH, tcp.ACK, tcp.URG, tcp.ECE, tcp.CWR} {
				if set {
					f |= 1 << bit
				}
			}
			gotOpts, kinds := gopacketOptions(t, tcp)
			wantT := tcpFields{
				SrcPort: s.SrcPort, DstPort: s.DstPort, Seq: s.Seq, Ack: s.Ack, Flags: s.Flags, Window: s.Window,
				DataOffset: 20 + s.Options.Len(), Options: normalize(s.Options), Kinds: wantKinds(s.Options),
			}
			gotT := tcpFields{
				SrcPort: uint16(tcp.SrcPort), DstPort: uint16(tcp.DstPort), Seq: tcp.Seq, Ack: tcp.Ack, Flags: f,
				Window: tcp.Window, Urgent: tcp.Urgent, DataOffset: int(tcp.DataOffset) * 4, Options: gotOpts, Kinds: kinds,
			}
			if diff := cmp.Diff(wantT, gotT); diff != "" {
				t.Errorf("TCP header as gopacket reads it (-want +got):\n%s", diff)
			}

			// Let gopacket recompute both checksums from the decoded layers:
			// the bytes must come out identical.
			if err := tcp.SetNetworkLayerForChecksum(p.NetworkLayer()); err != nil {
				t.Fatal(err)
			}
			buf := gopacket.NewSerializeBuffer()
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, netLay, tcp); err != nil {
				t.Fatalf("gopacket re-serialize: %v", err)
			}
			if !bytes.Equal(buf.Bytes(), b) {
				t.Errorf("gopacket recomputed checksums differ:\n got % x\nwant % x", buf.Bytes(), b)
			}
		})
	}
}

// normalize clears the fields of o that its Has* flags say are absent, as
// a decoder reports them.
func normalize(o Options) Options {
	if !o.HasMSS {
		o.MSS = 0
	}
	if !o.HasWScale {
		o.WScale = 0
	}
	if !o.HasTimestamps {
		o.TSVal, o.TSEcr = 0, 0
	}
	return o
}

func TestParseGopacketSegments(t *testing.T) {
	synAckOpts := []layers.TCPOption{
		{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
		{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
		{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 9, 0, 0xc0, 0xff, 0xee}},
		{OptionType: layers.TCPOptionKindNop},
		{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
	}
	// A FreeBSD-style SYN-ACK: different order, SACK blocks, EOL padding.
	bsdOpts := []layers.TCPOption{
		{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0x8c}},
		{OptionType: layers.TCPOptionKindNop},
		{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{6}},
		{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
		{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{OptionType: layers.TCPOptionKindEndList},
	}
	tests := []struct {
		name    string
		v6      bool
		opts    []layers.TCPOption
		payload []byte
		want    Options
	}{
		{name: "IPv4 SYN-ACK Linux options", opts: synAckOpts, want: Options{MSS: 1460, HasMSS: true, SACKPermitted: true, HasTimestamps: true, TSVal: 9, TSEcr: 0xc0ffee, WScale: 7, HasWScale: true}},
		{name: "IPv6 SYN-ACK Linux options", v6: true, opts: synAckOpts, want: Options{MSS: 1460, HasMSS: true, SACKPermitted: true, HasTimestamps: true, TSVal: 9, TSEcr: 0xc0ffee, WScale: 7, HasWScale: true}},
		{name: "IPv4 BSD-order options, odd payload", opts: bsdOpts, payload: []byte("abc"), want: Options{MSS: 1420, HasMSS: true, SACKPermitted: true, HasTimestamps: true, TSVal: 0x01020304, TSEcr: 0x05060708, WScale: 6, HasWScale: true}},
		{name: "IPv6 no options, odd payload", v6: true, payload: []byte("hello")},
		{name: "IPv4 RST no options", payload: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, dst := netip.MustParseAddr("198.18.2.2"), netip.MustParseAddr("198.18.1.1")
			var netLay interface {
				gopacket.NetworkLayer
				gopacket.SerializableLayer
			}
			if tt.v6 {
				src, dst = netip.MustParseAddr("fd00:2::2"), netip.MustParseAddr("fd00:1::1")
				netLay = &layers.IPv6{Version: 6, TrafficClass: 0x20, FlowLabel: 0xabcde, NextHeader: layers.IPProtocolTCP, HopLimit: 63,
					SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
			} else {
				netLay = &layers.IPv4{Version: 4, IHL: 5, TOS: 0x20, Id: 0x4242, Flags: layers.IPv4DontFragment, TTL: 63,
					Protocol: layers.IPProtocolTCP, SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
			}
			tcp := &layers.TCP{SrcPort: 443, DstPort: 54321, Seq: 0x01020304, Ack: 0x11223345, SYN: true, ACK: true,
				Window: 65160, Options: tt.opts}
			if err := tcp.SetNetworkLayerForChecksum(netLay); err != nil {
				t.Fatal(err)
			}
			buf := gopacket.NewSerializeBuffer()
			err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true},
				netLay, tcp, gopacket.Payload(tt.payload))
			if err != nil {
				t.Fatalf("gopacket serialize: %v", err)
			}
			pkt := buf.Bytes()

			var ip IPInfo
			seg, err := ParseIP(pkt, &ip)
			if err != nil {
				t.Fatalf("ParseIP(% x): %v", pkt, err)
			}
			version := 4
			if tt.v6 {
				version = 6
			}
			wantIP := IPInfo{Version: version, Src: src, Dst: dst, TTL: 63, TOS: 0x20, Protocol: 6, HeaderLen: len(pkt) - len(seg), FirstFragment: true}
			if diff := cmp.Diff(wantIP, ip, cmpOpts); diff != "" {
				t.Errorf("ParseIP mismatch (-want +got):\n%s", diff)
			}
			var got Segment
			if err := ParseTCP(seg, &got); err != nil {
				t.Fatalf("ParseTCP: %v", err)
			}
			want := Segment{SrcPort: 443, DstPort: 54321, Seq: 0x01020304, Ack: 0x11223345, DataOffset: int(tcp.DataOffset) * 4,
				Flags: SYN | ACK, Window: 65160, Checksum: tcp.Checksum, Options: tt.want, PayloadLen: len(tt.payload)}
			if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
				t.Errorf("ParseTCP mismatch (-want +got):\n%s", diff)
			}
			if !TCPChecksumValid(ip.Src, ip.Dst, seg) {
				t.Errorf("TCPChecksumValid = false on gopacket's segment % x", seg)
			}
			seg[len(seg)-1] ^= 0x01
			if TCPChecksumValid(ip.Src, ip.Dst, seg) {
				t.Errorf("TCPChecksumValid = true after flipping a bit")
			}
		})
	}
}
