package wire

import (
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmpopts.EquateErrors(),
}

// encode returns the encoded segment for s, failing the test on error.
func encode(t testing.TB, s SegmentSpec) []byte {
	t.Helper()
	b := make([]byte, MaxSegmentLen)
	n, err := EncodeSegment(b, &s)
	if err != nil {
		t.Fatalf("EncodeSegment(%+v): %v", s, err)
	}
	return b[:n]
}

// fixIPv4Checksum recomputes the header checksum of an edited IPv4 header.
func fixIPv4Checksum(b []byte) []byte {
	h := b[:int(b[0]&0xf)*4]
	binary.BigEndian.PutUint16(h[IPv4ChecksumOffset:], 0)
	binary.BigEndian.PutUint16(h[IPv4ChecksumOffset:], Fold(Sum(h, 0)))
	return b
}

// ipv4 returns a copy of the golden IPv4 SYN with edit applied and the
// header checksum fixed.
func ipv4(edit func(b []byte) []byte) []byte {
	b := append([]byte(nil), goldens()[0].packet...)
	return fixIPv4Checksum(edit(b))
}

// ipv6 builds an IPv6 packet from the golden addresses whose first next
// header is nh, followed by rest (extension headers and upper layer).
func ipv6(nh byte, rest ...[]byte) []byte {
	b := make([]byte, IPv6Len)
	b[0] = 0x60
	b[IPv6NextHeaderOffset] = nh
	b[IPv6HopLimitOffset] = 64
	src, dst := goldenSrc6.As16(), goldenDst6.As16()
	copy(b[IPv6SrcOffset:], src[:])
	copy(b[IPv6DstOffset:], dst[:])
	for _, r := range rest {
		b = append(b, r...)
	}
	binary.BigEndian.PutUint16(b[IPv6PayloadLenOffset:], uint16(len(b)-IPv6Len))
	return b
}

// ext returns an 8-byte extension header (hop-by-hop, routing or
// destination options layout) whose next header is nh, padded with PadN.
func ext(nh byte) []byte { return []byte{nh, 0, 1, 4, 0, 0, 0, 0} }

// fragHdr returns a fragment header with next header nh, the offset in
// bytes (a multiple of 8) and the M flag.
func fragHdr(nh byte, offset uint16, more bool) []byte {
	b := []byte{nh, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef}
	v := offset
	if more {
		v |= 1
	}
	binary.BigEndian.PutUint16(b[2:], v)
	return b
}

// goldenTCP6 is the TCP part of the golden IPv6 SYN with options.
func goldenTCP6() []byte { return goldens()[3].packet[IPv6Len:] }

func TestParseIP(t *testing.T) {
	g4 := goldens()[0].packet
	info4 := IPInfo{Version: 4, Src: goldenSrc4, Dst: goldenDst4, TTL: 64, Protocol: 6, HeaderLen: 20, FirstFragment: true}
	info6 := IPInfo{Version: 6, Src: goldenSrc6, Dst: goldenDst6, TTL: 64, Protocol: 6, HeaderLen: 40, FirstFragment: true}
	with := func(i IPInfo, edit func(*IPInfo)) IPInfo { edit(&i); return i }
	nineDestOpts := func() []byte {
		var b []byte
		for range 8 {
			b = append(b, ext(IPv6DestOptions)...)
		}
		return append(append(b, ext(6)...), goldenTCP6()...)
	}

	tests := []struct {
		name        string
		packet      []byte
		want        IPInfo
		wantPayload []byte // nil: the packet from HeaderLen on
		wantErr     error
	}{
		{name: "IPv4 golden", packet: g4, want: info4},
		{name: "IPv6 golden", packet: goldens()[3].packet, want: info6},
		{name: "empty", packet: nil, wantErr: ErrTruncated},
		{name: "version 5", packet: []byte{0x55, 0, 0, 0}, wantErr: ErrBadHeader},
		{name: "IPv4 19 bytes", packet: g4[:19], wantErr: ErrTruncated},
		{name: "IPv4 IHL 4", packet: ipv4(func(b []byte) []byte { b[0] = 0x44; return b }), wantErr: ErrBadHeader},
		{
			name: "IPv4 IHL 15 past the packet",
			// The checksum is left alone: the length check comes first.
			packet:  func() []byte { b := append([]byte(nil), g4[:40]...); b[0] = 0x4f; return b }(),
			wantErr: ErrTruncated,
		},
		{
			name:    "IPv4 total length below header",
			packet:  ipv4(func(b []byte) []byte { binary.BigEndian.PutUint16(b[2:], 19); return b }),
			wantErr: ErrBadHeader,
		},
		{
			name:    "IPv4 total length past the packet",
			packet:  ipv4(func(b []byte) []byte { binary.BigEndian.PutUint16(b[2:], 61); return b }),
			wantErr: ErrTruncated,
		},
		{
			name:    "IPv4 bad header checksum",
			packet:  func() []byte { b := append([]byte(nil), g4...); b[IPv4ChecksumOffset]++; return b }(),
			wantErr: ErrBadHeader,
		},
		{
			name:        "IPv4 link padding trimmed",
			packet:      append(append([]byte(nil), g4...), 0, 0, 0, 0, 0, 0),
			want:        info4,
			wantPayload: g4[20:],
		},
		{
			name: "IPv4 with options (IHL 6)",
			packet: ipv4(func(b []byte) []byte {
				b = append(b[:20:20], append([]byte{1, 1, 1, 0}, b[20:]...)...) // NOP NOP NOP EOL
				b[0] = 0x46
				binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
				return b
			}),
			want:        with(info4, func(i *IPInfo) { i.HeaderLen = 24 }),
			wantPayload: g4[20:],
		},
		{
			name:        "IPv4 first fragment (MF)",
			packet:      ipv4(func(b []byte) []byte { b[6] = 0x20; return b }),
			want:        with(info4, func(i *IPInfo) { i.Fragment = true }),
			wantPayload: g4[20:],
		},
		{
			name:        "IPv4 later fragment",
			packet:      ipv4(func(b []byte) []byte { b[6], b[7] = 0x00, 0x03; return b }),
			want:        with(info4, func(i *IPInfo) { i.Fragment, i.FirstFragment = true, false }),
			wantPayload: g4[20:],
		},
		{
			name:        "IPv4 TTL and TOS",
			packet:      ipv4(func(b []byte) []byte { b[1], b[8] = 0xb8, 3; return b }),
			want:        with(info4, func(i *IPInfo) { i.TOS, i.TTL = 0xb8, 3 }),
			wantPayload: g4[20:],
		},
		{name: "IPv6 39 bytes", packet: goldens()[3].packet[:39], wantErr: ErrTruncated},
		{name: "IPv6 payload length past the packet", packet: goldens()[3].packet[:79], wantErr: ErrTruncated},
		{
			name:        "IPv6 link padding trimmed",
			packet:      append(append([]byte(nil), goldens()[3].packet...), 0, 0, 0, 0),
			want:        info6,
			wantPayload: goldenTCP6(),
		},
		{
			name:        "IPv6 hop-by-hop and destination options before TCP",
			packet:      ipv6(IPv6HopByHop, ext(IPv6DestOptions), ext(6), goldenTCP6()),
			want:        with(info6, func(i *IPInfo) { i.HeaderLen = 56; i.TTL = 64 }),
			wantPayload: goldenTCP6(),
		},
		{
			name:        "IPv6 routing and AH before TCP",
			packet:      ipv6(IPv6Routing, ext(IPv6AH), []byte{6, 4, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, goldenTCP6()),
			want:        with(info6, func(i *IPInfo) { i.HeaderLen = 40 + 8 + 24 }),
			wantPayload: goldenTCP6(),
		},
		{
			name:        "IPv6 first fragment",
			packet:      ipv6(IPv6Fragment, fragHdr(6, 0, true), goldenTCP6()),
			want:        with(info6, func(i *IPInfo) { i.HeaderLen = 48; i.Fragment = true }),
			wantPayload: goldenTCP6(),
		},
		{
			name:        "IPv6 later fragment",
			packet:      ipv6(IPv6Fragment, fragHdr(6, 1448, false), goldenTCP6()),
			want:        with(info6, func(i *IPInfo) { i.HeaderLen = 48; i.Fragment = true; i.FirstFragment = false }),
			wantPayload: goldenTCP6(),
		},
		{
			name:        "IPv6 atomic fragment (offset 0, no M)",
			packet:      ipv6(IPv6Fragment, fragHdr(6, 0, false), goldenTCP6()),
			want:        with(info6, func(i *IPInfo) { i.HeaderLen = 48; i.Fragment = true }),
			wantPayload: goldenTCP6(),
		},
		{
			name:        "IPv6 no next header",
			packet:      ipv6(IPv6NoNextHdr),
			want:        with(info6, func(i *IPInfo) { i.Protocol = IPv6NoNextHdr }),
			wantPayload: []byte{},
		},
		{name: "IPv6 hop-by-hop not first", packet: ipv6(IPv6DestOptions, ext(IPv6HopByHop), ext(6), goldenTCP6()), wantErr: ErrBadHeader},
		{name: "IPv6 extension header cut short", packet: ipv6(IPv6DestOptions, []byte{6, 0, 1, 4}), wantErr: ErrTruncated},
		{
			name:    "IPv6 extension header length past payload",
			packet:  ipv6(IPv6DestOptions, []byte{6, 9, 1, 4, 0, 0, 0, 0}, goldenTCP6()),
			wantErr: ErrTruncated,
		},
		{name: "IPv6 AH length past payload", packet: ipv6(IPv6AH, []byte{6, 200, 0, 0, 0, 0, 0, 0}), wantErr: ErrTruncated},
		// No limit on the chain but the packet's length, as in the kernel
		// (ip6_protocol_deliver_rcu walks as many as come).
		{name: "IPv6 nine extension headers", packet: ipv6(IPv6DestOptions, nineDestOpts()), want: with(info6, func(i *IPInfo) { i.HeaderLen = 40 + 9*8 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got IPInfo
			payload, err := ParseIP(tt.packet, &got)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseIP error = %v, want %v", err, tt.wantErr)
				}
				if payload != nil {
					t.Errorf("ParseIP returned a payload of %d bytes with an error", len(payload))
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseIP: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
				t.Errorf("ParseIP info mismatch (-want +got):\n%s", diff)
			}
			want := tt.wantPayload
			if want == nil {
				want = tt.packet[tt.want.HeaderLen:]
			}
			if diff := cmp.Diff(want, payload); diff != "" {
				t.Errorf("ParseIP payload mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrTruncatedIsUnexpectedEOF(t *testing.T) {
	var ip IPInfo
	_, err := ParseIP([]byte{0x45}, &ip)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, ErrTruncated) {
		t.Errorf("ParseIP on 1 byte = %v, want an error matching ErrTruncated and io.ErrUnexpectedEOF", err)
	}
	if !errors.Is(ErrTruncated, io.ErrUnexpectedEOF) {
		t.Errorf("ErrTruncated does not match io.ErrUnexpectedEOF")
	}
}

// tcpWithOptions returns a TCP header with the golden ports and opts as its
// option area (a multiple of 4 bytes), followed by payload.
func tcpWithOptions(opts []byte, payload ...byte) []byte {
	b := make([]byte, 20, 20+len(opts)+len(payload))
	binary.BigEndian.PutUint16(b[0:], 443)
	binary.BigEndian.PutUint16(b[2:], 54321)
	binary.BigEndian.PutUint32(b[4:], 0x01020304)
	binary.BigEndian.PutUint32(b[8:], 0x11223345)
	b[12] = byte((20+len(opts))/4) << 4
	b[13] = byte(SYN | ACK)
	binary.BigEndian.PutUint16(b[14:], 65160)
	b = append(b, opts...)
	return append(b, payload...)
}

func TestParseTCP(t *testing.T) {
	synAck := Segment{SrcPort: 443, DstPort: 54321, Seq: 0x01020304, Ack: 0x11223345, DataOffset: 20, Flags: SYN | ACK, Window: 65160}
	with := func(edit func(*Segment)) Segment { s := synAck; edit(&s); return s }

	tests := []struct {
		name    string
		tcp     []byte
		want    Segment
		wantErr error
	}{
		{
			name: "golden IPv4 SYN",
			tcp:  goldens()[0].packet[20:],
			want: Segment{
				SrcPort: 54321, DstPort: 80, Seq: 0x11223344, DataOffset: 40, Flags: SYN, Window: 64240,
				Checksum: 0xa450, Options: linuxSYNOptions(1460),
			},
		},
		{name: "no options", tcp: tcpWithOptions(nil), want: synAck},
		{name: "payload", tcp: tcpWithOptions(nil, 'h', 'i', '!'), want: with(func(s *Segment) { s.PayloadLen = 3 })},
		{name: "19 bytes", tcp: tcpWithOptions(nil)[:19], wantErr: ErrTruncated},
		{name: "empty", tcp: nil, wantErr: ErrTruncated},
		{
			name:    "data offset 4",
			tcp:     func() []byte { b := tcpWithOptions(nil); b[12] = 0x40; return b }(),
			wantErr: ErrBadHeader,
		},
		{
			name:    "data offset past the segment",
			tcp:     func() []byte { b := tcpWithOptions(make([]byte, 20)); b[12] = 0xf0; return b }(),
			wantErr: ErrTruncated,
		},
		{
			name: "MSS then option length overrun",
			tcp:  tcpWithOptions([]byte{2, 4, 0x05, 0xb4, 8, 10, 0, 0}),
			want: with(func(s *Segment) {
				s.DataOffset = 28
				s.Options = Options{MSS: 1460, HasMSS: true}
				s.OptionsErr = ErrBadOption
			}),
		},
		{
			name: "option length 0",
			tcp:  tcpWithOptions([]byte{1, 30, 0, 0}),
			want: with(func(s *Segment) { s.DataOffset = 24; s.OptionsErr = ErrBadOption }),
		},
		{
			name: "option length 1",
			tcp:  tcpWithOptions([]byte{1, 30, 1, 0}),
			want: with(func(s *Segment) { s.DataOffset = 24; s.OptionsErr = ErrBadOption }),
		},
		{
			name: "options after EOL ignored",
			tcp:  tcpWithOptions([]byte{3, 3, 7, 0, 2, 4, 5, 0xb4}),
			want: with(func(s *Segment) {
				s.DataOffset = 28
				s.Options = Options{WScale: 7, HasWScale: true}
			}),
		},
		{
			name: "payload is not options",
			tcp:  tcpWithOptions(nil, 2, 4, 5, 0xb4),
			want: with(func(s *Segment) { s.PayloadLen = 4 }),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Segment
			err := ParseTCP(tt.tcp, &got)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseTCP error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTCP: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
				t.Errorf("ParseTCP mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseOptions(t *testing.T) {
	all := Options{MSS: 1460, HasMSS: true, SACKPermitted: true, HasTimestamps: true, TSVal: 0x00c0ffee, WScale: 7, HasWScale: true}
	tests := []struct {
		name    string
		opts    []byte
		want    Options
		wantErr error
	}{
		{name: "empty", opts: nil},
		{name: "Linux SYN", opts: goldens()[0].packet[40:], want: all},
		{name: "NOPs only", opts: []byte{1, 1, 1, 1}},
		{name: "EOL then garbage", opts: []byte{0, 2, 99}},
		{name: "EOL padding after MSS", opts: []byte{2, 4, 1, 0, 0, 0, 0, 0}, want: Options{MSS: 256, HasMSS: true}},
		{
			name: "timestamps without SACK, NOP-padded",
			opts: []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2},
			want: Options{HasTimestamps: true, TSVal: 1, TSEcr: 2},
		},
		{name: "SACK-permitted only", opts: []byte{1, 1, 4, 2}, want: Options{SACKPermitted: true}},
		{
			name: "unknown options skipped (SACK blocks, MD5, experimental)",
			opts: []byte{5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 19, 18, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 254, 4, 0xf9, 0x89, 2, 4, 0x05, 0xb4},
			want: Options{MSS: 1460, HasMSS: true},
		},
		{name: "later MSS wins", opts: []byte{2, 4, 0, 1, 2, 4, 0, 2}, want: Options{MSS: 2, HasMSS: true}},
		{name: "window scale kept as received", opts: []byte{3, 3, 200}, want: Options{WScale: 200, HasWScale: true}},
		{name: "kind without length byte", opts: []byte{1, 2}, wantErr: ErrBadOption},
		{name: "length 0", opts: []byte{30, 0, 2, 4, 5, 0xb4}, wantErr: ErrBadOption},
		{name: "length 1", opts: []byte{30, 1, 2, 4, 5, 0xb4}, wantErr: ErrBadOption},
		{name: "length past the area", opts: []byte{2, 4, 5, 0xb4, 30, 9, 0, 0}, want: Options{MSS: 1460, HasMSS: true}, wantErr: ErrBadOption},
		{name: "MSS length 3", opts: []byte{2, 3, 5, 1}, wantErr: ErrBadOption},
		{name: "MSS cut short", opts: []byte{2, 4, 5}, wantErr: ErrBadOption},
		{name: "window scale length 4", opts: []byte{3, 4, 7, 0}, wantErr: ErrBadOption},
		{name: "SACK-permitted length 3", opts: []byte{4, 3, 0}, wantErr: ErrBadOption},
		{name: "timestamps length 8", opts: []byte{2, 4, 5, 0xb4, 8, 8, 0, 0, 0, 1, 0, 0}, want: Options{MSS: 1460, HasMSS: true}, wantErr: ErrBadOption},
		{name: "timestamps cut short", opts: []byte{8, 10, 0, 0, 0, 1, 0, 0}, wantErr: ErrBadOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Options{MSS: 9999, HasMSS: true} // ParseOptions must clear it
			err := ParseOptions(tt.opts, &got)
			if diff := cmp.Diff(tt.wantErr, err, cmpOpts); diff != "" {
				t.Errorf("ParseOptions error mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseOptions mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
