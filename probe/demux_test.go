package probe

import (
	"hash/maphash"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// get returns the probe of k, nil if none: getHashed with the hash made
// here, for tests (the engine hashes before it takes p.mu).
func (t *demuxTable) get(k demuxKey) *entry {
	if t.n == 0 {
		return nil // a zero table has no seed to hash with yet
	}
	return t.getHashed(&k, hashDemux(t.seed, &k))
}

// TestDemuxTable runs random puts, removes and gets against a map: the
// table finds every probe it holds and no other, across growth, clusters
// that wrap around its end and backward-shift deletion.
func TestDemuxTable(t *testing.T) {
	for _, keys := range []int{3, 40, 1000} { // few keys: long runs on the same slots
		t.Run("", func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(keys)))
			all := make([]*entry, keys)
			for i := range all {
				remote := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
				if i%3 == 0 {
					remote = netip.AddrFrom16([16]byte{0xfd, 14: byte(i >> 8), 15: byte(i)})
				}
				local := netip.MustParseAddr("198.18.0.1")
				if remote.Is6() {
					local = netip.MustParseAddr("fd00::1")
				}
				all[i] = &entry{key: tuple{local: local, remote: remote, lport: 40000, rport: uint16(80 + i%7)}}
			}
			var tab demuxTable
			model := map[demuxKey]*entry{}
			for step := 0; step < 20000; step++ {
				e := all[rng.IntN(len(all))]
				k := e.key.demux()
				switch rng.IntN(3) {
				case 0:
					tab.put(e)
					model[k] = e
				case 1:
					tab.remove(e)
					delete(model, k)
				}
				if got := tab.get(k); got != model[k] {
					t.Fatalf("step %d: get %v = %p, want %p", step, e.key, got, model[k])
				}
				if tab.len() != len(model) {
					t.Fatalf("step %d: len %d, want %d", step, tab.len(), len(model))
				}
			}
			for _, e := range all {
				if got := tab.get(e.key.demux()); got != model[e.key.demux()] {
					t.Fatalf("at the end: get %v = %p, want %p", e.key, got, model[e.key.demux()])
				}
			}
			// An unknown 4-tuple, and a removed probe's twin: not found.
			other := tuple{local: netip.MustParseAddr("198.18.0.1"), remote: netip.MustParseAddr("198.19.9.9"), lport: 1, rport: 2}
			if got := tab.get(other.demux()); got != nil {
				t.Errorf("an unknown 4-tuple found %v", got.key)
			}
		})
	}
}

// TestDemuxTableIsNotFooledByV6Twin: an IPv4 4-tuple and its IPv4-mapped
// IPv6 twin are different probes in the table too.
func TestDemuxTableIsNotFooledByV6Twin(t *testing.T) {
	v4 := &entry{key: tuple{local: netip.MustParseAddr("198.18.1.2"), remote: netip.MustParseAddr("198.18.2.2"), lport: 40000, rport: 80}}
	mapped := tuple{local: netip.MustParseAddr("::ffff:198.18.1.2"), remote: netip.MustParseAddr("::ffff:198.18.2.2"), lport: 40000, rport: 80}
	var tab demuxTable
	tab.put(v4)
	if got := tab.get(mapped.demux()); got != nil {
		t.Error("the IPv4-mapped twin found the IPv4 probe")
	}
	if got := tab.get(v4.key.demux()); got != v4 {
		t.Error("the IPv4 probe is not found")
	}
}

// BenchmarkDemux is the demultiplexer of a 65,535-port sweep: a lookup
// that finds its probe (a reply), one that finds none (a stray packet),
// and a probe put in and taken out again (a streamed run's turnover).
func BenchmarkDemux(b *testing.B) {
	const n = 65535
	local, remote := netip.MustParseAddr("198.18.1.2"), netip.MustParseAddr("198.18.2.2")
	tab := newDemuxTable(n, maphash.MakeSeed())
	keys := make([]demuxKey, n)
	for i := range keys {
		e := &entry{key: tuple{local: local, remote: remote, lport: 40000, rport: uint16(i + 1)}}
		tab.put(e)
		keys[i] = e.key.demux()
	}
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if tab.get(keys[i%n]) == nil {
				b.Fatal("miss")
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		k := keys[0]
		k.lport = 40001
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			k.rport = uint16(i)
			if tab.get(k) != nil {
				b.Fatal("hit")
			}
		}
	})
	b.Run("put-remove", func(b *testing.B) {
		e := &entry{key: tuple{local: local, remote: remote, lport: 40001, rport: 80}}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			tab.put(e)
			tab.remove(e)
		}
	})
}

// TestDemuxRuns: the probes a sweep starts one after the other, ports 1,
// 2, 3 … of a host or port 80 of .1, .2, .3 …, are filed in runs of
// consecutive slots, a few cache lines for many probes, where a random
// slot each costs a cache miss at registration and another at the reply.
func TestDemuxRuns(t *testing.T) {
	local := netip.MustParseAddr("198.18.1.2")
	for _, tc := range []struct {
		name string
		key  func(i int) tuple
	}{
		{"ports of a host", func(i int) tuple {
			return tuple{local: local, remote: netip.MustParseAddr("198.18.2.2"), lport: 40000, rport: uint16(1 + i)}
		}},
		{"hosts of a /24", func(i int) tuple {
			return tuple{local: local, remote: netip.AddrFrom4([4]byte{198, 19, 0, byte(i)}), lport: 40000, rport: 80}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 256
			tab := newDemuxTable(1<<16, maphash.MakeSeed())
			lines := map[int]bool{} // 64-byte lines: four slots each
			for i := range n {
				e := &entry{key: tc.key(i)}
				tab.put(e)
				k := e.key.demux()
				slot, found := tab.find(&k, hashDemux(tab.seed, &k))
				if !found {
					t.Fatalf("probe %d not found after put", i)
				}
				lines[slot/4] = true
			}
			// Runs of demuxRun slots, four slots a line: a few lines a
			// run; random slots would touch about one line a probe.
			if len(lines) > n/2 {
				t.Errorf("%d probes on %d cache lines, want at most %d", n, len(lines), n/2)
			}
		})
	}
}
