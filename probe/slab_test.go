package probe

import (
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/tcpprobe/tcpprobe/wire"
)

func TestSlabTake(t *testing.T) {
	local := netip.MustParseAddrPort("198.18.1.2:40000")
	remote := netip.MustParseAddrPort("198.18.2.2:80")
	prof := Classic()
	for _, n := range []int{0, 1, 3} {
		sl := newSlab(n)
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
	if got := len(newSlab(slabMax + 10).s); got != slabMax {
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

// TestSlabResultSpace: a Run's probe is decided into the room its slab
// made for its result, when the result fits there, and into memory of its
// own when it does not (more SYNs than the room holds).
func TestSlabResultSpace(t *testing.T) {
	prof := Classic()
	sl := newSlab(2)
	key := tuple{local: netip.MustParseAddr("198.18.1.2"), remote: netip.MustParseAddr("198.18.2.2"), lport: 40000, rport: 80}
	start := time.Unix(1000, 0)
	rst := func(m *Machine, at time.Time) *Result {
		seg := wire.Segment{Flags: wire.RST | wire.ACK, Ack: m.ISS() + 1}
		if out := m.HandleTCP(TCPInfo{Seg: &seg, From: key.remote, ChecksumOK: true}, at); !out.Done {
			t.Fatalf("RST+ACK did not decide the probe: %+v", out)
		}
		return m.Result()
	}

	e := sl.take(&prof, key, 1)
	e.m.Start(start)
	r := rst(e.m, start.Add(time.Millisecond))
	if r != &sl.res[0].res || &r.Events[0] != &sl.res[0].events[0] || &r.Attempts[0] != &sl.res[0].attempts[0] {
		t.Errorf("a one-SYN refusal was not made in its slab room")
	}
	if r.Outcome != Refused || len(r.Events) != 2 || len(r.Attempts) != 1 || r.RTT != time.Millisecond {
		t.Errorf("result %+v", r)
	}

	key.rport = 81
	e = sl.take(&prof, key, 2)
	e.m.Start(start)
	e.m.Tick(start.Add(6 * time.Second))
	e.m.Tick(start.Add(30 * time.Second))
	r = rst(e.m, start.Add(31*time.Second))
	if r != &sl.res[1].res {
		t.Errorf("the result was not made in its slab room")
	}
	if len(r.Events) != 4 || len(r.Attempts) != 3 || &r.Events[0] == &sl.res[1].events[0] || r.AnsweredAttempt != 3 {
		t.Errorf("three SYNs and an answer: events %d, attempts %d, answered %d; in the room's events %v",
			len(r.Events), len(r.Attempts), r.AnsweredAttempt, &r.Events[0] == &sl.res[1].events[0])
	}
}
