package probe

import (
	"net/netip"
	"testing"
	"unsafe"
)

func TestSlabTake(t *testing.T) {
	local := netip.MustParseAddrPort("198.18.1.2:40000")
	remote := netip.MustParseAddrPort("198.18.2.2:80")
	prof := Classic()
	for _, n := range []int{0, 1, 3} {
		sl := probeSlab{s: newSlab(n)}
		seen := map[*entry]bool{}
		for i := 0; i < n+2; i++ { // two past the slab: allocated one by one
			e := sl.take(&prof, tuple{local: local.Addr(), remote: remote.Addr(), lport: local.Port(), rport: remote.Port()}, uint32(i))
			r := e.m.Result()
			if e.m == nil || e.hidx != -1 || e.link != nil || e.m.ISS() != uint32(i) || e.m.Done() ||
				r.Addr != remote.Addr() || r.SrcPort != local.Port() || len(r.Events) != 0 || len(r.Attempts) != 0 {
				t.Fatalf("n=%d take %d: not a fresh probe: entry %+v result %+v", n, i, e, r)
			}
			if seen[e] {
				t.Fatalf("n=%d take %d: entry handed out twice", n, i)
			}
			seen[e] = true
			// The first n come from the slab's memory, in order, with
			// their Machine beside them; the rest are allocated alone.
			if inSlab := i < n && e == &sl.s[i].e && e.m == &sl.s[i].m; inSlab != (i < n) {
				t.Errorf("n=%d take %d: in the slab's memory %v, want %v", n, i, inSlab, i < n)
			}
		}
	}
	if got := len(newSlab(slabMax + 10)); got != slabMax {
		t.Errorf("newSlab(slabMax+10) has %d states, want %d", got, slabMax)
	}
}

// TestProbeStateSize keeps a probe in flight small (issue 13: at most
// 1 KiB of memory a probe in flight, with the collector's headroom): its
// state fits the allocator's 320-byte class, and each SYN it sent takes
// 16 bytes.
func TestProbeStateSize(t *testing.T) {
	if n := unsafe.Sizeof(probeState{}); n > 320 {
		t.Errorf("probeState is %d bytes, want at most 320 (entry %d, Machine %d)", n, unsafe.Sizeof(entry{}), unsafe.Sizeof(Machine{}))
	}
	if n := unsafe.Sizeof(attempt{}); n != 16 {
		t.Errorf("attempt is %d bytes, want 16", n)
	}
}

// TestEventSize keeps Event at 120 bytes: every result holds one per SYN
// and per packet it lists.
func TestEventSize(t *testing.T) {
	if n := unsafe.Sizeof(Event{}); n != 120 {
		t.Errorf("Event is %d bytes, want 120 (order fields largest first)", n)
	}
}

// TestDemuxKey: the key keeps what tells probes apart (addresses,
// ports, family) and drops the zone.
func TestDemuxKey(t *testing.T) {
	v4 := tuple{local: netip.MustParseAddr("198.18.1.2"), remote: netip.MustParseAddr("198.18.2.2"), lport: 40000, rport: 80}
	mapped := tuple{local: netip.MustParseAddr("::ffff:198.18.1.2"), remote: netip.MustParseAddr("::ffff:198.18.2.2"), lport: 40000, rport: 80}
	ll := tuple{local: netip.MustParseAddr("fe80::1%c0"), remote: netip.MustParseAddr("fe80::2%c0"), lport: 1, rport: 2}
	llNoZone := tuple{local: netip.MustParseAddr("fe80::1"), remote: netip.MustParseAddr("fe80::2"), lport: 1, rport: 2}
	other := v4
	other.rport = 81
	if v4.demux() == mapped.demux() {
		t.Error("an IPv4 4-tuple and its IPv4-mapped IPv6 twin share a key")
	}
	if v4.demux() == other.demux() {
		t.Error("4-tuples that differ in a port share a key")
	}
	if ll.demux() != llNoZone.demux() {
		t.Error("a zone changed the key")
	}
	if n := unsafe.Sizeof(demuxKey{}); n != 38 {
		t.Errorf("demuxKey is %d bytes, want 38 (no padding)", n)
	}
}
