package wire

import (
	"testing"
)

// synAck returns an IPv4 or IPv6 SYN-ACK with Linux options, as a server
// would answer the golden SYN.
func synAck(tb testing.TB, v6 bool) []byte {
	tb.Helper()
	s := SegmentSpec{
		Src: goldenDst4, Dst: goldenSrc4, TTL: 63,
		SrcPort: 80, DstPort: 54321, Seq: 0x01020304, Ack: 0x11223345, Flags: SYN | ACK, Window: 65160,
		Options: Options{MSS: 1460, HasMSS: true, SACKPermitted: true, HasTimestamps: true, TSVal: 9, TSEcr: 0x00c0ffee, WScale: 7, HasWScale: true},
	}
	if v6 {
		s.Src, s.Dst = goldenDst6, goldenSrc6
	}
	return encode(tb, s)
}

func TestZeroAllocs(t *testing.T) {
	spec4, spec6 := goldens()[0].spec, goldens()[3].spec
	var buf [MaxSegmentLen]byte
	reply4, reply6 := synAck(t, false), synAck(t, true)
	garbage := []byte{0x4f, 0, 0, 0}
	badOpts := tcpWithOptions([]byte{2, 4, 5, 0xb4, 30, 9, 0, 0})
	var (
		ip  IPInfo
		seg Segment
	)
	tests := []struct {
		name string
		fn   func()
	}{
		{"EncodeSegment IPv4", func() { _, _ = EncodeSegment(buf[:], &spec4) }},
		{"EncodeSegment IPv6", func() { _, _ = EncodeSegment(buf[:], &spec6) }},
		{"EncodeSegment error", func() { _, _ = EncodeSegment(buf[:10], &spec6) }},
		{"ParseIP IPv4", func() { _, _ = ParseIP(reply4, &ip) }},
		{"ParseIP IPv6", func() { _, _ = ParseIP(reply6, &ip) }},
		{"ParseIP error", func() { _, _ = ParseIP(garbage, &ip) }},
		{"ParseTCP", func() { _ = ParseTCP(reply4[20:], &seg) }},
		{"ParseTCP bad option", func() { _ = ParseTCP(badOpts, &seg) }},
		{"ParseTCP error", func() { _ = ParseTCP(garbage, &seg) }},
		{"TCPChecksumValid", func() { _ = TCPChecksumValid(goldenDst6, goldenSrc6, reply6[40:]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tt.fn); n != 0 {
				t.Errorf("%s allocates %v times per run, want 0", tt.name, n)
			}
		})
	}
}

func benchmarkEncodeSYN(b *testing.B, spec SegmentSpec) {
	var buf [MaxSegmentLen]byte
	b.ReportAllocs()
	for b.Loop() {
		spec.Seq++
		if _, err := EncodeSegment(buf[:], &spec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeSYN(b *testing.B) {
	b.Run("v4", func(b *testing.B) { benchmarkEncodeSYN(b, goldens()[0].spec) })
	b.Run("v6", func(b *testing.B) { benchmarkEncodeSYN(b, goldens()[3].spec) })
}

func BenchmarkParseReply(b *testing.B) {
	for _, v := range []struct {
		name string
		v6   bool
	}{{"v4", false}, {"v6", true}} {
		b.Run(v.name, func(b *testing.B) {
			pkt := synAck(b, v.v6)
			var (
				ip  IPInfo
				seg Segment
			)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				tcp, err := ParseIP(pkt, &ip)
				if err != nil {
					b.Fatal(err)
				}
				if err := ParseTCP(tcp, &seg); err != nil {
					b.Fatal(err)
				}
				if !TCPChecksumValid(ip.Src, ip.Dst, tcp) {
					b.Fatal("bad checksum")
				}
			}
		})
	}
}
