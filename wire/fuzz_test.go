package wire

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fuzzPackets are the seeds: golden packets, replies and IPv6 extension
// header chains.
func fuzzPackets(tb testing.TB) [][]byte {
	var p [][]byte
	for _, g := range goldens() {
		p = append(p, g.packet)
	}
	return append(p,
		synAck(tb, false),
		synAck(tb, true),
		ipv6(IPv6HopByHop, ext(IPv6DestOptions), ext(6), goldenTCP6()),
		ipv6(IPv6Fragment, fragHdr(6, 0, true), goldenTCP6()),
		ipv6(IPv6Routing, ext(IPv6AH), []byte{6, 4, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, goldenTCP6()),
	)
}

func FuzzParseIP(f *testing.F) {
	for _, p := range fuzzPackets(f) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ip IPInfo
		payload, err := ParseIP(b, &ip)
		if err != nil {
			if payload != nil {
				t.Fatalf("payload with error %v", err)
			}
			return
		}
		if ip.Version != 4 && ip.Version != 6 {
			t.Fatalf("Version %d", ip.Version)
		}
		if ip.HeaderLen < IPv4MinLen || ip.HeaderLen+len(payload) > len(b) {
			t.Fatalf("HeaderLen %d + payload %d > packet %d", ip.HeaderLen, len(payload), len(b))
		}
		if len(payload) > 0 && &payload[0] != &b[ip.HeaderLen] {
			t.Fatalf("payload does not start at HeaderLen %d", ip.HeaderLen)
		}
		if ip.Version == 4 && !IPv4(b).ChecksumValid() {
			t.Fatalf("accepted an IPv4 header with a bad checksum")
		}
		if ip.Protocol == ProtocolTCP && ip.FirstFragment {
			var s Segment
			_ = ParseTCP(payload, &s)
			_ = TCPChecksumValid(ip.Src, ip.Dst, payload)
		}
	})
}

func FuzzParseTCP(f *testing.F) {
	for _, p := range fuzzPackets(f) {
		var ip IPInfo
		if tcp, err := ParseIP(p, &ip); err == nil {
			f.Add(tcp)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Segment
		if err := ParseTCP(b, &s); err != nil {
			return
		}
		if s.DataOffset < TCPMinLen || s.DataOffset > TCPMaxLen || s.DataOffset+s.PayloadLen != len(b) {
			t.Fatalf("DataOffset %d PayloadLen %d len %d", s.DataOffset, s.PayloadLen, len(b))
		}
		if s.OptionsErr != nil && !errors.Is(s.OptionsErr, ErrBadOption) {
			t.Fatalf("OptionsErr %v does not match ErrBadOption", s.OptionsErr)
		}
		// parse → encode → parse keeps every field the encoder writes.
		spec := SegmentSpec{
			Src: goldenSrc4, Dst: goldenDst4,
			SrcPort: s.SrcPort, DstPort: s.DstPort, Seq: s.Seq, Ack: s.Ack,
			Flags: s.Flags, Window: s.Window, Options: s.Options,
		}
		var buf [MaxSegmentLen]byte
		n, err := EncodeSegment(buf[:], &spec)
		if err != nil {
			t.Fatalf("EncodeSegment: %v", err)
		}
		var again Segment
		if err := ParseTCP(buf[IPv4MinLen:n], &again); err != nil {
			t.Fatalf("ParseTCP of re-encoded segment: %v", err)
		}
		s.DataOffset, s.Checksum, s.Urgent, s.OptionsErr, s.PayloadLen = again.DataOffset, again.Checksum, 0, nil, 0
		if diff := cmp.Diff(s, again, cmpOpts); diff != "" {
			t.Fatalf("parse → encode → parse mismatch (-first +second):\n%s", diff)
		}
	})
}

func FuzzParseOptions(f *testing.F) {
	for _, g := range goldens() {
		f.Add(g.packet[len(g.packet)-g.spec.Options.Len():])
	}
	f.Add([]byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2})
	f.Add([]byte{2, 4, 5, 0xb4, 1, 3, 3, 6, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 0})
	f.Add([]byte{5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 30, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var o Options
		err := ParseOptions(b, &o)
		if err != nil && !errors.Is(err, ErrBadOption) {
			t.Fatalf("error %v does not match ErrBadOption", err)
		}
		// Whatever was read encodes and parses back to itself.
		var buf [40]byte
		n := o.put(buf[:])
		if n != o.Len() || n%4 != 0 || n > 20 {
			t.Fatalf("put wrote %d bytes, Len %d", n, o.Len())
		}
		var again Options
		if err := ParseOptions(buf[:n], &again); err != nil {
			t.Fatalf("re-encoded options % x do not parse: %v", buf[:n], err)
		}
		if diff := cmp.Diff(o, again); diff != "" {
			t.Fatalf("parse → encode → parse mismatch (-first +second):\n%s", diff)
		}
	})
}

func FuzzRoundTrip(f *testing.F) {
	for _, g := range goldens() {
		s := g.spec
		o := s.Options
		var optBits uint8
		for i, set := range []bool{o.HasMSS, o.SACKPermitted, o.HasTimestamps, o.HasWScale} {
			if set {
				optBits |= 1 << i
			}
		}
		f.Add(s.Src.Is6(), s.Src.AsSlice(), s.Dst.AsSlice(), s.TTL, s.TOS, s.ID, s.NoDF, s.FlowLabel,
			s.SrcPort, s.DstPort, s.Seq, s.Ack, uint8(s.Flags), s.Window, optBits, o.MSS, o.WScale, o.TSVal, o.TSEcr)
	}
	f.Fuzz(func(t *testing.T, v6 bool, src, dst []byte, ttl, tos uint8, id uint16, noDF bool, flow uint32,
		sport, dport uint16, seq, ack uint32, flags uint8, window uint16, optBits uint8, mss uint16, ws uint8, tsval, tsecr uint32) {
		addr := func(b []byte) netip.Addr {
			var a [16]byte
			copy(a[:], b)
			if v6 {
				return netip.AddrFrom16(a)
			}
			return netip.AddrFrom4([4]byte(a[:4]))
		}
		s := SegmentSpec{
			Src: addr(src), Dst: addr(dst), TTL: ttl, TOS: tos, ID: id, NoDF: noDF, FlowLabel: flow,
			SrcPort: sport, DstPort: dport, Seq: seq, Ack: ack, Flags: Flags(flags), Window: window,
			Options: Options{
				HasMSS: optBits&1 != 0, SACKPermitted: optBits&2 != 0, HasTimestamps: optBits&4 != 0, HasWScale: optBits&8 != 0,
				MSS: mss, WScale: ws, TSVal: tsval, TSEcr: tsecr,
			},
		}
		if !v6 {
			s.FlowLabel = 0
		}
		var buf [MaxSegmentLen]byte
		n, err := EncodeSegment(buf[:], &s)
		switch {
		case v6 && (s.Src.Is4In6() || s.Dst.Is4In6()), v6 && flow > 0xfffff:
			if !errors.Is(err, ErrBadSpec) {
				t.Fatalf("EncodeSegment(%+v) error = %v, want ErrBadSpec", s, err)
			}
			return
		case err != nil:
			t.Fatalf("EncodeSegment(%+v): %v", s, err)
		}
		pkt := buf[:n]

		var ip IPInfo
		tcp, err := ParseIP(pkt, &ip)
		if err != nil {
			t.Fatalf("ParseIP(% x): %v", pkt, err)
		}
		wantTTL := ttl
		if wantTTL == 0 {
			wantTTL = DefaultTTL
		}
		wantIP := IPInfo{Version: 4, Src: s.Src, Dst: s.Dst, TTL: wantTTL, TOS: tos, Protocol: ProtocolTCP, HeaderLen: IPv4MinLen, FirstFragment: true}
		if v6 {
			wantIP.Version, wantIP.HeaderLen = 6, IPv6Len
		}
		if diff := cmp.Diff(wantIP, ip, cmpOpts); diff != "" {
			t.Fatalf("ParseIP mismatch (-want +got):\n%s", diff)
		}
		if v6 {
			if got := IPv6(pkt).FlowLabel(); got != flow {
				t.Fatalf("flow label %#x, want %#x", got, flow)
			}
		} else if h := IPv4(pkt); h.ID() != id || h.DF() == noDF || h.MF() || h.FragmentOffset() != 0 {
			t.Fatalf("IPv4 ID %#x DF %v, want %#x %v", h.ID(), h.DF(), id, !noDF)
		}
		var seg Segment
		if err := ParseTCP(tcp, &seg); err != nil {
			t.Fatalf("ParseTCP: %v", err)
		}
		want := Segment{
			SrcPort: sport, DstPort: dport, Seq: seq, Ack: ack, DataOffset: TCPMinLen + s.Options.Len(),
			Flags: Flags(flags), Window: window, Checksum: TCP(tcp).Checksum(), Options: normalize(s.Options),
		}
		if diff := cmp.Diff(want, seg, cmpOpts); diff != "" {
			t.Fatalf("ParseTCP mismatch (-want +got):\n%s", diff)
		}
		if !TCPChecksumValid(ip.Src, ip.Dst, tcp) {
			t.Fatalf("TCP checksum does not verify: % x", pkt)
		}
	})
}
