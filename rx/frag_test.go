package rx

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/wire"
)

// frag4 cuts the IPv4 packet pkt into fragments at the given payload
// offsets (multiples of 8), each with pkt's header.
func frag4(pkt []byte, cuts ...int) [][]byte {
	hlen := int(pkt[0]&0xf) * 4
	payload := pkt[hlen:]
	bounds := append(append([]int{0}, cuts...), len(payload))
	var out [][]byte
	for i := 0; i+1 < len(bounds); i++ {
		off, end := bounds[i], bounds[i+1]
		f := append(append([]byte(nil), pkt[:hlen]...), payload[off:end]...)
		binary.BigEndian.PutUint16(f[wire.IPv4TotalLenOffset:], uint16(len(f)))
		w := uint16(off / 8)
		if end < len(payload) {
			w |= wire.IPv4FlagMF
		}
		binary.BigEndian.PutUint16(f[wire.IPv4FlagsFragOffset:], w)
		fixIPv4(f)
		out = append(out, f)
	}
	return out
}

// frag6 cuts the IPv6 packet pkt (no extension headers) into fragments at
// the given payload offsets, with fragment identification id.
func frag6(pkt []byte, id uint32, cuts ...int) [][]byte {
	nh := pkt[wire.IPv6NextHeaderOffset]
	payload := pkt[wire.IPv6Len:]
	bounds := append(append([]int{0}, cuts...), len(payload))
	var out [][]byte
	for i := 0; i+1 < len(bounds); i++ {
		off, end := bounds[i], bounds[i+1]
		h := append([]byte(nil), pkt[:wire.IPv6Len]...)
		h[wire.IPv6NextHeaderOffset] = wire.IPv6Fragment
		f := append(append(h, fragHdr(nh, off, end < len(payload), id)...), payload[off:end]...)
		binary.BigEndian.PutUint16(f[wire.IPv6PayloadLenOffset:], uint16(len(f)-wire.IPv6Len))
		out = append(out, f)
	}
	return out
}

// bigSynack4 is a SYN-ACK with 40 bytes of TCP options and 64 bytes of
// data: long enough to cut in three.
func bigSynack4() []byte {
	opts := cat(mssOpt, []byte{1, 1, 4, 2}, []byte{1, 3, 3, 7}, make([]byte, 28))
	return ipv4(server4, client4, wire.ProtocolTCP, nil, tcpSeg(server4, client4, wire.SYN|wire.ACK, opts, make([]byte, 64)), func(h []byte) {
		binary.BigEndian.PutUint16(h[wire.IPv4FlagsFragOffset:], 0)
	})
}

func bigSynack6() []byte {
	return ipv6(server6, client6, wire.ProtocolTCP, tcpSeg(server6, client6, wire.SYN|wire.ACK, mssOpt, make([]byte, 64)))
}

type step struct {
	frame []byte
	at    time.Duration // after t0
	want  Drop
}

func TestReassembly(t *testing.T) {
	s4, s6 := bigSynack4(), bigSynack6()
	f4 := frag4(s4, 24, 64)   // TCP header split: 24 bytes, 40, rest
	f4b := frag4(s4, 8)       // only 8 TCP bytes in the first fragment
	f6 := frag6(s6, 0x77, 24) // 24 bytes (the TCP header) then the rest
	icmp6 := unreach6(quoteSYN6(iss))
	ic6 := frag6(icmp6, 0x88, 48) // an ICMPv6 error in two
	ic4 := frag4(unreach4(quoteSYN4(iss)), 16)
	overlap := func() []byte { // bytes 16..31 again, cut at 16 and 32
		o := frag4(s4, 16, 32)
		return o[1]
	}
	dup := frag4(s4, 24, 64)[1] // the middle fragment again
	short := frag4(s4, 24)[0]   // first 24 bytes
	tests := []struct {
		name  string
		steps []step
		kind  Kind // what the last step delivers
	}{
		{name: "v4 in order", steps: []step{{f4[0], 0, DropFragQueued}, {f4[1], 0, DropFragQueued}, {f4[2], 0, DropNone}}, kind: KindTCP},
		{name: "v4 reversed", steps: []step{{f4[2], 0, DropFragQueued}, {f4[1], 0, DropFragQueued}, {f4[0], 0, DropNone}}, kind: KindTCP},
		{name: "v4 only 8 TCP bytes first", steps: []step{{f4b[0], 0, DropFragQueued}, {f4b[1], 0, DropNone}}, kind: KindTCP},
		{name: "v4 lone first fragment decides nothing", steps: []step{{f4[0], 0, DropFragQueued}}},
		{name: "v4 lone last fragment", steps: []step{{f4[2], 0, DropFragQueued}}},
		{name: "v4 ICMP error in two", steps: []step{{ic4[1], 0, DropFragQueued}, {ic4[0], 0, DropNone}}, kind: KindICMP},
		{name: "v4 overlap drops the datagram", steps: []step{{f4[0], 0, DropFragQueued}, {overlap(), 0, DropFragOverlap}, {f4[1], 0, DropFragQueued}, {f4[2], 0, DropFragQueued}}},
		{name: "v4 duplicate is dropped alone", steps: []step{{f4[0], 0, DropFragQueued}, {f4[1], 0, DropFragQueued}, {dup, 0, DropFragDuplicate}, {f4[2], 0, DropNone}}, kind: KindTCP},
		{name: "v4 expired after ipfrag_time", steps: []step{{f4[0], 0, DropFragQueued}, {f4[1], 10 * time.Second, DropFragQueued}, {f4[2], 30 * time.Second, DropFragQueued}}},
		{name: "v4 just inside ipfrag_time", steps: []step{{f4[0], 0, DropFragQueued}, {f4[1], 10 * time.Second, DropFragQueued}, {f4[2], 29 * time.Second, DropNone}}, kind: KindTCP},
		{name: "v4 second last fragment with another end", steps: []step{{f4[2], 0, DropFragQueued}, {edit(f4[2], func(b []byte) { b[3] -= 8; fixIPv4(b) }), 0, DropFragInvalid}}},
		{name: "v4 last fragment ending before queued data", steps: []step{{f4[1], 0, DropFragQueued}, {short, 0, DropFragQueued}, {edit(frag4(s4, 8, 40)[1], func(b []byte) { b[6], b[7] = 0, 1; fixIPv4(b) }), 0, DropFragInvalid}}},
		{name: "v4 zero-length fragment", steps: []step{{f4[0], 0, DropFragQueued}, {edit(f4[1], func(b []byte) {
			b[2], b[3] = 0, 20
			fixIPv4(b)
		})[:20], 0, DropFragInvalid}, {f4[1], 0, DropFragQueued}}},
		{name: "v6 in order", steps: []step{{f6[0], 0, DropFragQueued}, {f6[1], 0, DropNone}}, kind: KindTCP},
		{name: "v6 reversed", steps: []step{{f6[1], 0, DropFragQueued}, {f6[0], 0, DropNone}}, kind: KindTCP},
		{name: "v6 ICMPv6 error in two", steps: []step{{ic6[0], 0, DropFragQueued}, {ic6[1], 0, DropNone}}, kind: KindICMP},
		{name: "v6 expired after ip6frag_time", steps: []step{{f6[0], 0, DropFragQueued}, {f6[1], 60 * time.Second, DropFragQueued}}},
		{name: "v6 inside ip6frag_time", steps: []step{{f6[0], 0, DropFragQueued}, {f6[1], 59 * time.Second, DropNone}}, kind: KindTCP},
		{name: "v6 non-last length not a multiple of 8", steps: []step{{frag6(s6, 1, 20)[0], 0, DropFragInvalid}}},
		{name: "v6 overlap", steps: []step{{f6[0], 0, DropFragQueued}, {frag6(s6, 0x77, 16)[1], 0, DropFragOverlap}, {f6[1], 0, DropFragQueued}}},
		{name: "v6 same id, other source", steps: []step{{f6[0], 0, DropFragQueued}, {edit(f6[1], func(b []byte) { b[9]++ }), 0, DropFragQueued}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPipeline(DefaultConfig())
			var out Packet
			for i, s := range tt.steps {
				d, ok := p.Input(s.frame, FrameInfo{}, t0.Add(s.at), &out)
				if d != s.want || ok != (s.want == DropNone) {
					t.Fatalf("step %d: Input = %v, %v; want %v", i, d, ok, s.want)
				}
			}
			if out.Kind != tt.kind {
				t.Fatalf("Kind = %v, want %v", out.Kind, tt.kind)
			}
			if tt.kind != KindNone {
				if !out.Reassembled || !out.HasTuple {
					t.Errorf("Reassembled %v, HasTuple %v: want both", out.Reassembled, out.HasTuple)
				}
				if tt.kind == KindTCP && (out.Seg.Flags != wire.SYN|wire.ACK || out.Seg.PayloadLen != 64 || !out.Seg.Options.HasMSS) {
					t.Errorf("reassembled segment: flags %v, payload %d, MSS %v", out.Seg.Flags, out.Seg.PayloadLen, out.Seg.Options.HasMSS)
				}
			}
		})
	}
}

// TestReassemblyMemory: above the threshold every fragment is dropped, and
// one source cannot hold more than a quarter of it.
func TestReassemblyMemory(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IPFragHighThresh = 64 << 10
	p := NewPipeline(cfg)
	var out Packet
	first := frag4(bigSynack4(), 24)[0]
	dropped := 0
	for i := range 200 {
		f := edit(first, func(b []byte) { binary.BigEndian.PutUint16(b[wire.IPv4IDOffset:], uint16(i)); fixIPv4(b) })
		if d, _ := p.Input(f, FrameInfo{}, t0, &out); d == DropFragMemory {
			dropped++
		}
	}
	queues, bytes := p.FragStats()
	if dropped == 0 || bytes > cfg.IPFragHighThresh/4+2*(fragOverhead+64) {
		t.Fatalf("%d dropped, %d queues holding %d bytes: want drops and at most a quarter of %d", dropped, queues, bytes, cfg.IPFragHighThresh)
	}
	// Another source still gets its datagram through.
	other := netip4(198, 18, 2, 3)
	pkt := ipv4(other, client4, wire.ProtocolTCP, nil, tcpSeg(other, client4, wire.SYN|wire.ACK, mssOpt, make([]byte, 64)), func(h []byte) { h[6] = 0 })
	fs := frag4(pkt, 24)
	p.Input(fs[0], FrameInfo{}, t0, &out)
	if d, ok := p.Input(fs[1], FrameInfo{}, t0, &out); !ok {
		t.Fatalf("second source: %v", d)
	}
	// Everything expires.
	if n := p.Expire(t0.Add(cfg.IPFragTime)); n != queues {
		t.Errorf("Expire = %d, want %d", n, queues)
	}
	if q, b := p.FragStats(); q != 0 || b != 0 {
		t.Errorf("after expiry: %d queues, %d bytes", q, b)
	}
}

// TestReassemblyMaxDist: ipfrag_max_dist restarts a queue that fell
// behind its source's other datagrams.
func TestReassemblyMaxDist(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IPFragMaxDist = 4
	p := NewPipeline(cfg)
	var out Packet
	fs := frag4(bigSynack4(), 24)
	p.Input(fs[0], FrameInfo{}, t0, &out)
	for i := range 5 { // five fragments of other datagrams from the same source
		f := edit(fs[0], func(b []byte) { binary.BigEndian.PutUint16(b[wire.IPv4IDOffset:], uint16(100+i)); fixIPv4(b) })
		p.Input(f, FrameInfo{}, t0, &out)
	}
	if d, _ := p.Input(fs[1], FrameInfo{}, t0, &out); d != DropFragQueued {
		t.Fatalf("after 5 others with max_dist 4: %v, want the queue restarted (frag-queued)", d)
	}
}

// TestFastPathAllocs: an unfragmented packet costs no allocation.
func TestFastPathAllocs(t *testing.T) {
	p := NewPipeline(DefaultConfig())
	var out Packet
	for _, f := range [][]byte{synack4(), synack6(), unreach4(quoteSYN4(iss)), unreach6(quoteSYN6(iss)),
		ext6(wire.IPv6DestOptions, optsHdr(wire.ProtocolTCP, 0x1e, 2, 0, 0)), opts4(7, 7, 4, 0, 0, 0, 0, 1)} {
		if n := testing.AllocsPerRun(100, func() { p.Input(f, FrameInfo{}, t0, &out) }); n != 0 {
			t.Errorf("%d allocations per packet, want 0", int(n))
		}
	}
}

func BenchmarkInput(b *testing.B) {
	p := NewPipeline(DefaultConfig())
	var out Packet
	f := synack4()
	b.ReportAllocs()
	for b.Loop() {
		p.Input(f, FrameInfo{}, t0, &out)
	}
}

// TestReassemblyV6Headers: headers before the fragment header (the
// unfragmentable part) come from the first fragment, headers after it are
// walked once the datagram is whole.
func TestReassemblyV6Headers(t *testing.T) {
	tcp := tcpSeg(server6, client6, wire.SYN|wire.ACK, mssOpt, make([]byte, 64))
	inner := cat(optsHdr(wire.ProtocolTCP), tcp) // destination options after the fragment header
	mk := func(off, end int, more bool) []byte {
		return ipv6(server6, client6, wire.IPv6HopByHop, optsHdr(wire.IPv6Fragment), fragHdr(wire.IPv6DestOptions, off, more, 0x99), inner[off:end])
	}
	p := NewPipeline(DefaultConfig())
	var out Packet
	if d, _ := p.Input(mk(32, len(inner), false), FrameInfo{}, t0, &out); d != DropFragQueued {
		t.Fatalf("last fragment: %v", d)
	}
	if d, ok := p.Input(mk(0, 32, true), FrameInfo{}, t0, &out); !ok || out.Kind != KindTCP || out.Seg.PayloadLen != 64 {
		t.Fatalf("first fragment: %v, kind %v, payload %d", d, out.Kind, out.Seg.PayloadLen)
	}
	// A destination option after the fragment header that says discard
	// drops the reassembled datagram.
	bad := cat(optsHdr(wire.ProtocolTCP, 0x80, 0), tcp)
	mkBad := func(off, end int, more bool) []byte {
		return ipv6(server6, client6, wire.IPv6Fragment, fragHdr(wire.IPv6DestOptions, off, more, 0x9a), bad[off:end])
	}
	p.Input(mkBad(0, 32, true), FrameInfo{}, t0, &out)
	if d, _ := p.Input(mkBad(32, len(bad), false), FrameInfo{}, t0, &out); d != DropIP6OptionAction {
		t.Fatalf("reassembled with a discard option: %v, want %v", d, DropIP6OptionAction)
	}
}

func TestReassemblyMemoryV6(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IP6FragHighThresh = 0 // the kernel then refuses every fragment
	p := NewPipeline(cfg)
	var out Packet
	if d, _ := p.Input(frag6(bigSynack6(), 1, 24)[0], FrameInfo{}, t0, &out); d != DropFragMemory {
		t.Fatalf("with ip6frag_high_thresh 0: %v", d)
	}
}
