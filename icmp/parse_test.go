package icmp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"

	"github.com/tcpprobe/tcpprobe/wire"

	"github.com/google/go-cmp/cmp"
	xicmp "golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// TestGoldenChecksums recomputes every golden checksum (ICMP and, for v4,
// the quoted IPv4 header's) with naiveChecksum, which shares no code with
// package wire.
func TestGoldenChecksums(t *testing.T) {
	for _, g := range goldens() {
		t.Run(g.name, func(t *testing.T) {
			if got, want := binary.BigEndian.Uint16(g.b[2:]), naiveChecksum(g.b, g.v6, g.src, g.dst); got != want {
				t.Errorf("ICMP checksum field = %#04x, want %#04x", got, want)
			}
			if !g.v6 {
				h := g.b[headerLen : headerLen+int(g.b[headerLen]&0x0f)*4]
				if got, want := binary.BigEndian.Uint16(h[10:]), naiveIPv4HeaderChecksum(h); got != want {
					t.Errorf("quoted IPv4 header checksum = %#04x, want %#04x", got, want)
				}
			}
		})
	}
}

// TestGoldenXNet cross-checks the goldens with golang.org/x/net/icmp: it
// parses them and must see the same type, code, MTU and quoted bytes; where
// x/net keeps every field, re-marshalling (x/net computes the checksum,
// with the IPv6 pseudo-header for v6) must give back the golden bytes.
func TestGoldenXNet(t *testing.T) {
	for _, g := range goldens() {
		t.Run(g.name, func(t *testing.T) {
			proto := 1
			if g.v6 {
				proto = 58
			}
			xm, err := xicmp.ParseMessage(proto, g.b)
			if err != nil {
				t.Fatalf("x/net ParseMessage: %v", err)
			}
			var typ int
			switch tt := xm.Type.(type) {
			case ipv4.ICMPType:
				typ = int(tt)
			case ipv6.ICMPType:
				typ = int(tt)
			}
			if typ != int(g.want.Type) || xm.Code != int(g.want.Code) {
				t.Errorf("x/net type/code = %d/%d, want %d/%d", typ, xm.Code, g.want.Type, g.want.Code)
			}
			var data []byte
			exact := true
			switch body := xm.Body.(type) {
			case *xicmp.DstUnreach:
				data = body.Data
				exact = g.want.MTU == 0 // x/net drops the v4 next-hop MTU
			case *xicmp.PacketTooBig:
				data = body.Data
				if uint32(body.MTU) != g.want.MTU {
					t.Errorf("x/net MTU = %d, want %d", body.MTU, g.want.MTU)
				}
			default:
				t.Fatalf("x/net body is %T", xm.Body)
			}
			if !bytes.Equal(data, g.b[headerLen:]) {
				t.Errorf("x/net quoted data differs:\n got %x\nwant %x", data, g.b[headerLen:])
			}
			if !exact {
				return
			}
			var psh []byte
			if g.v6 {
				psh = xicmp.IPv6PseudoHeader(net.IP(g.src.AsSlice()), net.IP(g.dst.AsSlice()))
			}
			out, err := xm.Marshal(psh)
			if err != nil {
				t.Fatalf("x/net Marshal: %v", err)
			}
			if !bytes.Equal(out, g.b) {
				t.Errorf("x/net re-marshal differs:\n got %x\nwant %x", out, g.b)
			}
		})
	}
}

func TestParseGolden(t *testing.T) {
	for _, g := range goldens() {
		for _, verify := range []bool{true, false} {
			name := g.name + "/checksum-ready"
			if !verify {
				name = g.name + "/checksum-not-ready"
			}
			t.Run(name, func(t *testing.T) {
				var m Message
				if err := Parse(g.b, g.v6, g.src, g.dst, verify, &m); err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if diff := cmp.Diff(g.want, m, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
					t.Errorf("Parse mismatch (-want +got):\n%s", diff)
				}
				if !m.Quote.Matches(g.want.Quote.Src, g.want.Quote.Dst, probeSport, probeDport, probeISS) {
					t.Errorf("quote does not match the probe that caused it")
				}
			})
		}
	}
}

// fixed returns a copy of b with a correct checksum for the given family
// and outer addresses.
func fixed(b []byte, v6 bool, src, dst netip.Addr) []byte {
	b = bytes.Clone(b)
	if len(b) >= 4 {
		binary.BigEndian.PutUint16(b[2:], naiveChecksum(b, v6, src, dst))
	}
	return b
}

// edit returns a copy of b changed by f, checksum recomputed.
func edit(b []byte, v6 bool, src, dst netip.Addr, f func([]byte) []byte) []byte {
	return fixed(f(bytes.Clone(b)), v6, src, dst)
}

// v6Quote builds an ICMPv6 destination-unreachable (port) message from the
// target quoting an IPv6 header with first next header nh, then ext, then
// the 8 TCP bytes of the probe (or tail if not nil).
func v6Quote(nh byte, ext []byte, tail []byte) []byte {
	b := append([]byte(nil), goldenV6HopByHop[:headerLen+ip6Len]...)
	b[headerLen+ip6OffNext] = nh
	b = append(b, ext...)
	if tail == nil {
		tail = goldenV6HopByHop[len(goldenV6HopByHop)-8:]
	}
	b = append(b, tail...)
	return fixed(b, true, probeDst6, probeSrc6)
}

func TestParseVariants(t *testing.T) {
	q4 := Quote{Src: probeSrc4, Dst: probeDst4, Protocol: 6, SrcPort: probeSport, DstPort: probeDport, Seq: probeISS}
	q6 := Quote{Src: probeSrc6, Dst: probeDst6, Protocol: 6, SrcPort: probeSport, DstPort: probeDport, Seq: probeISS}
	set := func(i int, v ...byte) func([]byte) []byte {
		return func(b []byte) []byte { copy(b[i:], v); return b }
	}
	v4 := func(f func([]byte) []byte) []byte { return edit(goldenV4PortUnreach, false, probeDst4, probeSrc4, f) }
	tests := []struct {
		name     string
		b        []byte
		v6       bool
		src, dst netip.Addr
		verify   bool
		wantErr  error
		want     *Message // checked when not nil
	}{
		// Checksums.
		{name: "v4 bad checksum", b: func() []byte { b := bytes.Clone(goldenV4PortUnreach); b[2] ^= 0x01; return b }(),
			src: probeDst4, dst: probeSrc4, verify: true, wantErr: ErrChecksum},
		{name: "v4 bad checksum, not ready: accepted", b: func() []byte { b := bytes.Clone(goldenV4PortUnreach); b[2] ^= 0x01; return b }(),
			src: probeDst4, dst: probeSrc4, verify: false, want: &Message{Type: 3, Code: 3, Quote: q4}},
		{name: "v4 corrupted quote byte", b: func() []byte { b := bytes.Clone(goldenV4PortUnreach); b[len(b)-1] ^= 0x80; return b }(),
			src: probeDst4, dst: probeSrc4, verify: true, wantErr: ErrChecksum},
		{name: "v6 checksum against wrong outer source", b: goldenV6AddrUnreach, v6: true,
			src: probeDst6, dst: probeSrc6, verify: true, wantErr: ErrChecksum},
		{name: "v6 checksum with v4 outer addresses", b: goldenV6AddrUnreach, v6: true,
			src: router4, dst: probeSrc4, verify: true, wantErr: ErrAddrFamily},
		{name: "v6 checksum with zero addresses", b: goldenV6AddrUnreach, v6: true, verify: true, wantErr: ErrAddrFamily},
		{name: "v6 no checksum: addresses unused", b: goldenV6AddrUnreach, v6: true, verify: false,
			want: &Message{V6: true, Type: 1, Code: 3, Quote: q6}},
		{name: "v4 with Ethernet padding", b: append(bytes.Clone(goldenV4PortUnreach), 0, 0, 0, 0, 0, 0),
			src: probeDst4, dst: probeSrc4, verify: true, want: &Message{Type: 3, Code: 3, Quote: q4}},

		// Truncated ICMP header.
		{name: "empty", b: nil, verify: true, wantErr: ErrTruncated},
		{name: "7 bytes", b: goldenV4PortUnreach[:7], verify: true, wantErr: ErrTruncated},
		{name: "v6 7 bytes", b: goldenV6TooBig[:7], v6: true, src: router6, dst: probeSrc6, verify: true, wantErr: ErrTruncated},

		// Quote shape, IPv4.
		{name: "header only, no quote", b: fixed(goldenV4PortUnreach[:8], false, probeDst4, probeSrc4),
			src: probeDst4, dst: probeSrc4, verify: true, wantErr: ErrBadQuote},
		{name: "quote: IPv4 header, no TCP bytes", b: fixed(goldenV4PortUnreach[:28], false, probeDst4, probeSrc4),
			src: probeDst4, dst: probeSrc4, verify: true, wantErr: ErrBadQuote},
		{name: "quote: 7 TCP bytes", b: fixed(goldenV4PortUnreach[:35], false, probeDst4, probeSrc4),
			src: probeDst4, dst: probeSrc4, verify: true, wantErr: ErrBadQuote},
		{name: "quote: IHL 4", b: v4(set(8, 0x44)), src: probeDst4, dst: probeSrc4, verify: true, wantErr: ErrBadQuote},
		{name: "quote: IHL 0", b: v4(set(8, 0x40)), src: probeDst4, dst: probeSrc4, verify: true, wantErr: ErrBadQuote},
		{name: "quote: IHL 6 but only 20+8 bytes", b: v4(set(8, 0x46)), src: probeDst4, dst: probeSrc4, verify: true, wantErr: ErrBadQuote},
		{name: "quote: IHL 15 but short", b: v4(set(8, 0x4f)), src: probeDst4, dst: probeSrc4, verify: true, wantErr: ErrBadQuote},
		// Linux's icmp_unreach checks the quoted IHL, never the version.
		{name: "quote: version 6 in a v4 message is read as v4", b: v4(set(8, 0x65)), src: probeDst4, dst: probeSrc4, verify: true},
		{name: "quote: UDP", b: v4(set(8+ip4OffProt, 17)), src: probeDst4, dst: probeSrc4, verify: true, wantErr: ErrNotTCP,
			want: &Message{Type: 3, Code: 3, Quote: Quote{Src: probeSrc4, Dst: probeDst4, Protocol: 17}}},
		{name: "quote: ICMP", b: v4(set(8+ip4OffProt, 1)), src: probeDst4, dst: probeSrc4, verify: true, wantErr: ErrNotTCP},
		{name: "quote: total length 20000 is fine (quotes are cut)", b: v4(set(10, 0x4e, 0x20)), src: probeDst4, dst: probeSrc4, verify: true,
			want: &Message{Type: 3, Code: 3, Quote: q4}},
		{name: "quote: more than 8 TCP bytes", b: fixed(append(bytes.Clone(goldenV4PortUnreach), 0, 0, 0, 0, 0xa0, 0x02, 0xfa, 0xf0), false, probeDst4, probeSrc4),
			src: probeDst4, dst: probeSrc4, verify: true, want: &Message{Type: 3, Code: 3, Quote: q4}},

		// Types and codes, IPv4.
		{name: "v4 echo request", b: fixed([]byte{8, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g'}, false, probeDst4, probeSrc4),
			src: probeDst4, dst: probeSrc4, verify: true, wantErr: ErrNotError},
		{name: "v4 echo reply", b: fixed([]byte{0, 0, 0, 0, 0x12, 0x34, 0, 1}, false, probeDst4, probeSrc4),
			src: probeDst4, dst: probeSrc4, verify: true, wantErr: ErrNotError},
		{name: "v4 timestamp", b: fixed(append([]byte{13, 0, 0, 0}, make([]byte, 16)...), false, probeDst4, probeSrc4),
			src: probeDst4, dst: probeSrc4, verify: true, wantErr: ErrNotError},
		{name: "v4 echo request, bad checksum: not-error wins", b: []byte{8, 0, 0xde, 0xad, 0, 0, 0, 0},
			src: probeDst4, dst: probeSrc4, verify: true, wantErr: ErrNotError},
		{name: "v4 unreach code 16 parses", b: v4(set(1, 16)), src: probeDst4, dst: probeSrc4, verify: true,
			want: &Message{Type: 3, Code: 16, Quote: q4}},
		{name: "v4 time exceeded", b: v4(set(0, 11, 0)), src: probeDst4, dst: probeSrc4, verify: true,
			want: &Message{Type: 11, Code: 0, Quote: q4}},
		{name: "v4 parameter problem pointer", b: v4(set(0, 12, 0, 0, 0, 20, 0, 0, 0)), src: probeDst4, dst: probeSrc4, verify: true,
			want: &Message{Type: 12, Code: 0, Pointer: 20, Quote: q4}},
		{name: "v4 source quench", b: v4(set(0, 4, 0)), src: probeDst4, dst: probeSrc4, verify: true,
			want: &Message{Type: 4, Code: 0, Quote: q4}},
		{name: "v4 redirect with gateway", b: v4(set(0, 5, 1, 0, 0, 0xc6, 0x12, 0x00, 0xfd)), src: probeDst4, dst: probeSrc4, verify: true,
			want: &Message{Type: 5, Code: 1, Quote: q4}},
		{name: "v4 MTU read only for frag-needed", b: v4(set(4, 0, 0, 0x05, 0x78)), src: probeDst4, dst: probeSrc4, verify: true,
			want: &Message{Type: 3, Code: 3, Quote: q4}},

		// Family confusion.
		{name: "v4 message in a v6 call", b: goldenV4PortUnreach, v6: true, src: router6, dst: probeSrc6, verify: true, wantErr: ErrChecksum},
		{name: "v4 message in a v6 call, no checksum", b: goldenV4PortUnreach, v6: true, verify: false, wantErr: ErrBadQuote},
		{name: "v6 message in a v4 call", b: goldenV6AddrUnreach, src: router4, dst: probeSrc4, verify: true, wantErr: ErrNotError},
		{name: "v6 packet too big in a v4 call, no checksum", b: goldenV6TooBig, verify: false, wantErr: ErrNotError},
		{name: "v6 time exceeded quoting IPv4", b: fixed(append([]byte{3, 0, 0, 0, 0, 0, 0, 0}, goldenV4PortUnreach[8:]...), true, router6, probeSrc6),
			v6: true, src: router6, dst: probeSrc6, verify: true, wantErr: ErrBadQuote},

		// Types, IPv6.
		{name: "v6 echo request", b: fixed([]byte{128, 0, 0, 0, 0, 1, 0, 1}, true, router6, probeSrc6),
			v6: true, src: router6, dst: probeSrc6, verify: true, wantErr: ErrNotError},
		{name: "v6 neighbour solicitation", b: fixed(append([]byte{135, 0, 0, 0, 0, 0, 0, 0}, probeSrc6.AsSlice()...), true, router6, probeSrc6),
			v6: true, src: router6, dst: probeSrc6, verify: true, wantErr: ErrNotError},
		{name: "v6 redirect (137) is not an error", b: fixed(append([]byte{137, 0, 0, 0}, make([]byte, 36)...), true, router6, probeSrc6),
			v6: true, src: router6, dst: probeSrc6, verify: true, wantErr: ErrNotError},
		{name: "v6 unknown error type 100", b: edit(goldenV6AddrUnreach, true, router6, probeSrc6, set(0, 100, 9)),
			v6: true, src: router6, dst: probeSrc6, verify: true, want: &Message{V6: true, Type: 100, Code: 9, Quote: q6}},
		{name: "v6 parameter problem pointer", b: edit(goldenV6AddrUnreach, true, router6, probeSrc6, set(0, 4, 1, 0, 0, 0, 0, 0, 6)),
			v6: true, src: router6, dst: probeSrc6, verify: true, want: &Message{V6: true, Type: 4, Code: 1, Pointer: 6, Quote: q6}},

		// Quote shape, IPv6.
		{name: "v6 quote shorter than the IPv6 header", b: fixed(goldenV6AddrUnreach[:8+39], true, router6, probeSrc6),
			v6: true, src: router6, dst: probeSrc6, verify: true, wantErr: ErrBadQuote},
		{name: "v6 quote: 7 TCP bytes", b: fixed(goldenV6AddrUnreach[:len(goldenV6AddrUnreach)-1], true, router6, probeSrc6),
			v6: true, src: router6, dst: probeSrc6, verify: true, wantErr: ErrBadQuote},
		// icmpv6_notify does not check the quoted version either.
		{name: "v6 quote: version 4 is read as v6", b: edit(goldenV6AddrUnreach, true, router6, probeSrc6, set(8, 0x40)),
			v6: true, src: router6, dst: probeSrc6, verify: true},
		{name: "v6 quote: UDP", b: edit(goldenV6AddrUnreach, true, router6, probeSrc6, set(8+ip6OffNext, 17)),
			v6: true, src: router6, dst: probeSrc6, verify: true, wantErr: ErrNotTCP,
			want: &Message{V6: true, Type: 1, Code: 3, Quote: Quote{Src: probeSrc6, Dst: probeDst6, Protocol: 17}}},
		{name: "v6 hop-by-hop overruns the quote", b: edit(goldenV6HopByHop, true, probeDst6, probeSrc6, set(8+ip6Len+1, 0xff)),
			v6: true, src: probeDst6, dst: probeSrc6, verify: true, wantErr: ErrBadQuote},
		{name: "v6 hop-by-hop cut after 1 byte", b: fixed(goldenV6HopByHop[:8+ip6Len+1], true, probeDst6, probeSrc6),
			v6: true, src: probeDst6, dst: probeSrc6, verify: true, wantErr: ErrBadQuote},
		{name: "v6 hop-by-hop, then 4 TCP bytes", b: fixed(goldenV6HopByHop[:len(goldenV6HopByHop)-4], true, probeDst6, probeSrc6),
			v6: true, src: probeDst6, dst: probeSrc6, verify: true, wantErr: ErrBadQuote},
		{name: "v6 routing + destination options + TCP", b: v6Quote(wire.IPv6Routing, []byte{
			wire.IPv6DestOptions, 0, 0, 0, 0, 0, 0, 0, // routing: next dest-opts, 8 bytes, type 0, segments left 0
			wire.ProtocolTCP, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // dest-opts: next TCP, 16 bytes, PadN 12
		}, nil), v6: true, src: probeDst6, dst: probeSrc6, verify: true,
			want: &Message{V6: true, Type: 1, Code: 4, Quote: q6}},
		{name: "v6 AH (length in 4-byte units + 2) then TCP", b: v6Quote(wire.IPv6AH, []byte{
			wire.ProtocolTCP, 4, 0, 0, // next TCP, payload len 4 → (4+2)*4 = 24 bytes
			0, 0, 0, 1, // SPI
			0, 0, 0, 1, // sequence
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ICV (12 bytes)
		}, nil), v6: true, src: probeDst6, dst: probeSrc6, verify: true,
			want: &Message{V6: true, Type: 1, Code: 4, Quote: q6}},
		{name: "v6 first fragment then TCP", b: v6Quote(wire.IPv6Fragment, []byte{wire.ProtocolTCP, 0, 0x00, 0x01, 0, 0, 0, 7}, nil),
			v6: true, src: probeDst6, dst: probeSrc6, verify: true, want: &Message{V6: true, Type: 1, Code: 4, Quote: q6}},
		{name: "v6 non-first fragment", b: v6Quote(wire.IPv6Fragment, []byte{wire.ProtocolTCP, 0, 0x00, 0x08, 0, 0, 0, 7}, nil),
			v6: true, src: probeDst6, dst: probeSrc6, verify: true, wantErr: ErrNotTCP,
			want: &Message{V6: true, Type: 1, Code: 4, Quote: Quote{Src: probeSrc6, Dst: probeDst6, Protocol: wire.IPv6Fragment}}},
		{name: "v6 fragment header cut after 3 bytes", b: v6Quote(wire.IPv6Fragment, []byte{wire.ProtocolTCP, 0, 0}, []byte{}),
			v6: true, src: probeDst6, dst: probeSrc6, verify: true, wantErr: ErrBadQuote},
		// ipv6_skip_exthdr returns -1 on NONE: icmpv6_notify drops it.
		{name: "v6 no next header", b: v6Quote(wire.IPv6NoNextHdr, nil, nil),
			v6: true, src: probeDst6, dst: probeSrc6, verify: true, wantErr: ErrBadQuote},
		{name: "v6 ESP is not walked", b: v6Quote(50, nil, nil),
			v6: true, src: probeDst6, dst: probeSrc6, verify: true, wantErr: ErrNotTCP},
		{name: "v6 chain of 3 hop-by-hop headers then TCP", b: v6Quote(wire.IPv6HopByHop, []byte{
			wire.IPv6HopByHop, 0, 1, 4, 0, 0, 0, 0,
			wire.IPv6HopByHop, 0, 1, 4, 0, 0, 0, 0,
			wire.ProtocolTCP, 0, 1, 4, 0, 0, 0, 0,
		}, nil), v6: true, src: probeDst6, dst: probeSrc6, verify: true, want: &Message{V6: true, Type: 1, Code: 4, Quote: q6}},
		{name: "v6 endless hop-by-hop chain", b: v6Quote(wire.IPv6HopByHop, bytes.Repeat([]byte{wire.IPv6HopByHop, 0, 1, 4, 0, 0, 0, 0}, 20), []byte{}),
			v6: true, src: probeDst6, dst: probeSrc6, verify: true, wantErr: ErrBadQuote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Message
			err := Parse(tt.b, tt.v6, tt.src, tt.dst, tt.verify, &m)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse error = %v, want %v", err, tt.wantErr)
			}
			if tt.want != nil {
				if diff := cmp.Diff(*tt.want, m, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
					t.Errorf("Parse mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestErrTruncatedIsUnexpectedEOF(t *testing.T) {
	var m Message
	err := Parse([]byte{3, 3, 0}, false, probeDst4, probeSrc4, true, &m)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, ErrTruncated) {
		t.Errorf("Parse(3 bytes) = %v, want ErrTruncated wrapping io.ErrUnexpectedEOF", err)
	}
}

func TestQuoteMatches(t *testing.T) {
	q4 := Quote{Src: probeSrc4, Dst: probeDst4, Protocol: 6, SrcPort: probeSport, DstPort: probeDport, Seq: probeISS}
	q6 := Quote{Src: probeSrc6, Dst: probeDst6, Protocol: 6, SrcPort: probeSport, DstPort: probeDport, Seq: probeISS}
	qmax := q4
	qmax.Seq = 0xFFFFFFFF
	other4 := netip.MustParseAddr("198.18.0.9")
	tests := []struct {
		name         string
		q            Quote
		src, dst     netip.Addr
		sport, dport uint16
		iss          uint32
		want         bool
	}{
		{"exact v4", q4, probeSrc4, probeDst4, probeSport, probeDport, probeISS, true},
		{"exact v6", q6, probeSrc6, probeDst6, probeSport, probeDport, probeISS, true},
		{"seq = iss+1 (Linux would accept; we do not)", q4, probeSrc4, probeDst4, probeSport, probeDport, probeISS - 1, false},
		{"seq = iss-1", q4, probeSrc4, probeDst4, probeSport, probeDport, probeISS + 1, false},
		{"iss 0xFFFFFFFF", qmax, probeSrc4, probeDst4, probeSport, probeDport, 0xFFFFFFFF, true},
		{"iss 0xFFFFFFFF, quote seq wraps to 0", Quote{Src: probeSrc4, Dst: probeDst4, Protocol: 6, SrcPort: probeSport, DstPort: probeDport, Seq: 0},
			probeSrc4, probeDst4, probeSport, probeDport, 0xFFFFFFFF, false},
		{"iss 0 vs quote 0xFFFFFFFF", qmax, probeSrc4, probeDst4, probeSport, probeDport, 0, false},
		{"wrong source port", q4, probeSrc4, probeDst4, probeSport + 1, probeDport, probeISS, false},
		{"wrong destination port", q4, probeSrc4, probeDst4, probeSport, 443, probeISS, false},
		{"ports swapped", q4, probeSrc4, probeDst4, probeDport, probeSport, probeISS, false},
		{"wrong source address", q4, other4, probeDst4, probeSport, probeDport, probeISS, false},
		{"wrong destination address", q4, probeSrc4, other4, probeSport, probeDport, probeISS, false},
		{"addresses swapped", q4, probeDst4, probeSrc4, probeSport, probeDport, probeISS, false},
		{"v4-mapped v6 form of the right addresses", q4,
			netip.AddrFrom16(probeSrc4.As16()), netip.AddrFrom16(probeDst4.As16()), probeSport, probeDport, probeISS, false},
		{"not TCP", Quote{Src: probeSrc4, Dst: probeDst4, Protocol: 17, SrcPort: probeSport, DstPort: probeDport, Seq: probeISS},
			probeSrc4, probeDst4, probeSport, probeDport, probeISS, false},
		{"zero quote vs zero probe", Quote{}, netip.Addr{}, netip.Addr{}, 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.q.Matches(tt.src, tt.dst, tt.sport, tt.dport, tt.iss); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
	// The seq = iss+1 row above passes iss-1 as the probe's ISS so that
	// the quote's seq is ISS+1; check that arithmetic once more at the wrap.
	q := qmax
	q.Seq = 0 // ISS+1 for ISS 0xFFFFFFFF
	if q.Matches(probeSrc4, probeDst4, probeSport, probeDport, 0xFFFFFFFF) {
		t.Errorf("quote seq = ISS+1 (mod 2^32) matched ISS 0xFFFFFFFF")
	}
}

func TestParseAllocs(t *testing.T) {
	for _, g := range goldens() {
		for _, verify := range []bool{true, false} {
			var m Message
			n := testing.AllocsPerRun(100, func() {
				_ = Parse(g.b, g.v6, g.src, g.dst, verify, &m)
			})
			if n != 0 {
				t.Errorf("%s verify=%v: %v allocs per Parse, want 0", g.name, verify, n)
			}
		}
	}
	// Error paths must not allocate either.
	var m Message
	bad := bytes.Clone(goldenV4PortUnreach)
	bad[2] ^= 1
	for _, b := range [][]byte{nil, bad, goldenV6AddrUnreach} {
		if n := testing.AllocsPerRun(100, func() { _ = Parse(b, false, probeDst4, probeSrc4, true, &m) }); n != 0 {
			t.Errorf("error path: %v allocs, want 0", n)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		_ = Parse(goldenV6HopByHop, true, probeDst6, probeSrc6, true, &m)
		_ = Linux(&m)
		_ = BSD44(&m)
	}); n != 0 {
		t.Errorf("Parse+Linux+BSD44: %v allocs, want 0", n)
	}
}

func BenchmarkParse(b *testing.B) {
	for _, g := range goldens() {
		for _, verify := range []bool{true, false} {
			name := g.name + "/verify"
			if !verify {
				name = g.name + "/noverify"
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(g.b)))
				var m Message
				for b.Loop() {
					if err := Parse(g.b, g.v6, g.src, g.dst, verify, &m); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	var m Message
	if err := Parse(goldenV4PortUnreach, false, probeDst4, probeSrc4, true, &m); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = Linux(&m)
		_ = BSD44(&m)
	}
}
