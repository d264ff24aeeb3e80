package rawsock

import (
	"hash/maphash"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestSameFrame: a tapped frame is the sent one when it holds the sent
// frame's first txKeyLen bytes, exactly: what their keys say.
func TestSameFrame(t *testing.T) {
	sent := make([]byte, txKeyLen+30)
	for i := range sent {
		sent[i] = byte(i)
	}
	short := sent[:60]
	other := append([]byte(nil), sent[:txKeyLen]...)
	other[txKeyLen-1]++
	for _, tc := range []struct {
		name          string
		tapped, sent  []byte
		same, keysSay bool
	}{
		{"a long frame, cut at txKeyLen", sent[:txKeyLen], sent, true, true},
		{"a short frame, whole", short, short, true, true},
		{"cut shorter than the tap cuts", sent[:txKeyLen-1], sent, false, false},
		{"a short frame's prefix", short[:59], short, false, false},
		{"one byte apart", other, sent, false, false},
	} {
		var st txStamper
		st.seed = maphash.MakeSeed()
		if got := sameFrame(tc.tapped, tc.sent); got != tc.same {
			t.Errorf("%s: sameFrame = %v, want %v", tc.name, got, tc.same)
		}
		if got := st.key(tc.tapped) == st.key(tc.sent); got != tc.keysSay {
			t.Errorf("%s: equal keys = %v, want %v", tc.name, got, tc.keysSay)
		}
	}
}

// TestPendPruneAmortized: stamps nobody claims (the kernel's own RST for
// each SYN-ACK it has no socket for, another program's ACKs) pile up in
// pend faster than they age out; a drain must not scan all of them each
// time, or a fleet sweep's half-open hosts make every write quadratic.
func TestPendPruneAmortized(t *testing.T) {
	st := &txStamper{seed: maphash.MakeSeed(), pend: map[uint64]int64{}}
	now := time.Now().Add(time.Hour).UnixNano() // young however long the test takes
	scans := 0
	const young = 8 * txPendMax
	for i := range young {
		st.pend[uint64(i)] = now
		before := st.pendScans
		st.prunePendLocked()
		scans += st.pendScans - before
	}
	if len(st.pend) != young {
		t.Fatalf("pend holds %d of %d young stamps", len(st.pend), young)
	}
	// Doubling: about log2(8) scans, not one per insert past txPendMax.
	if scans > 5 {
		t.Errorf("%d inserts past txPendMax scanned pend %d times, want a handful", young-txPendMax, scans)
	}
	// Old stamps still go, at the next scan.
	for k := range st.pend {
		st.pend[k] = time.Now().Add(-2 * txPendAge).UnixNano()
	}
	scansBefore := st.pendScans
	for i := 0; st.pendScans == scansBefore && i < 4*young; i++ {
		st.pend[uint64(young+i)] = now
		st.prunePendLocked()
	}
	for _, ns := range st.pend {
		if ns != now {
			t.Fatalf("an old stamp outlived the scan (%d scans, pend %d)", st.pendScans-scansBefore, len(st.pend))
		}
	}
}

// fakeTap is a tap whose ring holds frames, each handed over with the
// time ns (Unix ns) of the same index, as the kernel fills a TPACKET_V2
// ring.
func fakeTap(t *testing.T, frames [][]byte, ns []int64) *txTap {
	t.Helper()
	tap := &txTap{frames: tapBlockFrames, mem: make([]byte, tapBlockFrames*tapFrameSize)}
	const mac = 64 // where the kernel puts a SOCK_RAW frame: after the header and sockaddr_ll
	for i, f := range frames {
		off := i * tapFrameSize
		h := (*unix.Tpacket2Hdr)(unsafe.Pointer(&tap.mem[off]))
		n := copy(tap.mem[off+mac:off+tapFrameSize], f[:min(len(f), txKeyLen)])
		h.Mac, h.Snaplen, h.Len = mac, uint32(n), uint32(len(f))
		h.Sec, h.Nsec = uint32(ns[i]/1e9), uint32(ns[i]%1e9)
		h.Status = unix.TP_STATUS_USER
	}
	return tap
}

// TestOwnLocked: a write takes its frames' times from the tap's ring in
// the order it sent them, leaves other writers' frames in pend for them,
// and of two byte-identical frames (the kernel's RST for a SYN-ACK it has
// no socket for, then the prober's own teardown RST) takes the later.
func TestOwnLocked(t *testing.T) {
	frame := func(b byte) []byte {
		f := synPacket(addrA4, addrB4, 41000+uint16(b), 80, uint32(b))
		return append(make([]byte, 14), f...) // an Ethernet header's room
	}
	a, b, c, foreign := frame(1), frame(2), frame(3), frame(9)
	const t0 = int64(1_700_000_000_000_000_000)
	for _, tc := range []struct {
		name  string
		ring  [][]byte
		want  []int64 // times of a, b, c (0: not from the ring)
		set   int
		inPnd int // frames left in pend
	}{
		{"in order", [][]byte{a, b, c}, []int64{t0, t0 + 1, t0 + 2}, 3, 0},
		{"another writer's between", [][]byte{a, foreign, b, c}, []int64{t0, t0 + 2, t0 + 3}, 3, 1},
		{"an identical frame first", [][]byte{a, b, b, c}, []int64{t0, t0 + 2, t0 + 3}, 3, 0},
		{"the first frame taken before", [][]byte{b, c}, []int64{0, 0, 0}, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := make([]int64, len(tc.ring))
			for i := range ns {
				ns[i] = t0 + int64(i)
			}
			st := &txStamper{seed: maphash.MakeSeed(), pend: map[uint64]int64{}, tap: fakeTap(t, tc.ring, ns)}
			times := make([]time.Time, 3)
			next := 0
			if set := st.ownLocked([][]byte{a, b, c}, times, &next); set != tc.set {
				t.Errorf("set %d frames, want %d", set, tc.set)
			}
			for i, w := range tc.want {
				got := int64(0)
				if !times[i].IsZero() {
					got = times[i].UnixNano()
				}
				if got != w {
					t.Errorf("frame %d: time %d, want %d", i, got, w)
				}
			}
			if len(st.pend) != tc.inPnd {
				t.Errorf("pend holds %d frames, want %d", len(st.pend), tc.inPnd)
			}
		})
	}
}
