package probe

import (
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/rawsock"
	"github.com/tcpprobe/tcpprobe/wire"
)

var (
	benchLocal  = netip.MustParseAddr("198.18.1.2")
	benchRemote = netip.MustParseAddr("198.18.2.2")
)

// benchProber returns a Prober with a run of n registered probes to
// benchRemote ports 1..n from source port 40000, as the launch loop leaves
// them.
func benchProber(tb testing.TB, n int) (*Prober, *runState) {
	tb.Helper()
	return benchProberSlab(tb, n, true)
}

// benchProberSlab is benchProber, its probes laid out as a Run's (slab)
// or a streamed run's, one by one.
func benchProberSlab(tb testing.TB, n int, slab bool) (*Prober, *runState) {
	tb.Helper()
	prof := Classic()
	p, err := New(Config{Profile: prof, Options: DefaultOptions(), SourcePort: 40000})
	if err != nil {
		tb.Fatal(err)
	}
	p.probes = newDemuxTable(n, p.demuxSeed)
	r := &runState{p: p, ready: make(chan struct{}, 1)}
	if slab {
		r.slab = newSlab(n) // as Run lays probes out
	}
	ls := &linkState{ifi: net.Interface{Name: "bench0"}}
	now := p.base
	var acts []action
	for i := 0; i < n; i++ {
		pl := &planned{t: &Target{Addr: netip.AddrPortFrom(benchRemote, uint16(i+1))}, rt: &routeResult{r: rawsock.Route{Src: benchLocal}}}
		e, err := r.register(pl, ls, &neighResult{})
		if err != nil {
			tb.Fatal(err)
		}
		p.inflight++
		p.dispatch(e, e.m.Start(now), &acts)
		acts = acts[:0]
	}
	return p, r
}

// BenchmarkOnPacket is the receive path of a 65,535-probe sweep: parse an
// RST+ACK, find its probe by 4-tuple, let the Machine decide, hand the
// result on.
func BenchmarkOnPacket(b *testing.B) {
	const n = 65535
	p, r := benchProber(b, n)
	pkts := make([][]byte, n)
	for i := range pkts {
		k := tuple{local: benchLocal, remote: benchRemote, lport: 40000, rport: uint16(i + 1)}
		spec := wire.SegmentSpec{Src: benchRemote, Dst: benchLocal, TTL: 63, SrcPort: k.rport, DstPort: k.lport,
			Ack: p.probes.get(k.demux()).m.ISS() + 1, Flags: wire.RST | wire.ACK}
		buf := make([]byte, wire.MaxSegmentLen)
		m, err := wire.EncodeSegment(buf, &spec)
		if err != nil {
			b.Fatal(err)
		}
		pkts[i] = buf[:m]
	}
	info := rawsock.RecvInfo{Time: time.Unix(1000, 1000)}
	rx := p.newRxBatch(&linkState{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rx.one[0], rx.oneInfo[0] = pkts[i%n], info
		p.onPackets(rx, rx.one[:], rx.oneInfo[:])
		if len(r.finished) >= 4096 {
			clear(r.finished)
			r.finished = r.finished[:0]
		}
	}
}

// BenchmarkTimerHeap is one reschedule (pop, Tick-like move, push) in a
// heap of 65,535 probes.
func BenchmarkTimerHeap(b *testing.B) {
	const n = 65535
	p, _ := benchProber(b, n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		due := p.timers[0].due
		e := p.timers.pop()
		p.timers.push(e, due+int64(time.Second))
	}
}

// BenchmarkInFlightMemory reports the heap bytes each probe in flight
// holds once started: entry and Machine, its first attempt, its
// demultiplexer slot and timer heap slot. A streamed run has only that;
// a Run's slab also holds the room each probe's Result is made in.
func BenchmarkInFlightMemory(b *testing.B) {
	const n = 65535
	for _, stream := range []bool{false, true} {
		name := "run"
		if stream {
			name = "stream"
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				p, _ := benchProberSlab(b, n, !stream)
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/probe")
				runtime.KeepAlive(p)
			}
		})
	}
}
