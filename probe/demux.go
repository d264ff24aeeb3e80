package probe

import (
	"hash/maphash"
	"net/netip"

	"github.com/tcpprobe/tcpprobe/internal/prefault"
)

// tuple is a probe's 4-tuple, from our side.
type tuple struct {
	local, remote netip.Addr
	lport, rport  uint16
}

// demuxKey is a 4-tuple as the demultiplexer keys it: 38 bytes without
// pointers or padding, hashed and compared as one block of memory (a
// tuple, with netip.Addr's zone pointer and padding, takes a field-by-field
// hash). v6 keeps an IPv4 address apart from its IPv4-mapped IPv6 twin;
// zones play no part (a probe's link fixes its interface).
type demuxKey struct {
	local, remote [16]byte
	lport, rport  uint16
	v6            uint16 // 1 for IPv6
}

func (t tuple) demux() demuxKey {
	k := demuxKey{local: t.local.As16(), remote: t.remote.As16(), lport: t.lport, rport: t.rport}
	if t.local.Is6() {
		k.v6 = 1
	}
	return k
}

// is reports whether t is the 4-tuple k keys.
func (t *tuple) is(k *demuxKey) bool {
	return t.rport == k.rport && t.lport == k.lport && t.remote.As16() == k.remote &&
		t.local.As16() == k.local && t.local.Is6() == (k.v6 == 1)
}

// demuxTable finds a probe by its 4-tuple: an open-addressed table
// (linear probing, at most half full) of entry pointers, each beside the
// hash of its key, 32 to 64 bytes a probe where a map of demuxKey takes
// about 80. The key is the entry's own: a lookup reads an entry only when
// the hashes match, which is mostly the entry it wants (hashDemux says
// when two keys share a hash).
type demuxTable struct {
	slots []demuxSlot // a power of two long, or empty
	n     int
	// seed is what keys are hashed under: given at creation (a Prober's
	// tables share one), or, in a zero table, made at its first growth.
	seed maphash.Seed
}

// demuxSlot is one place of the table: empty when e is nil.
type demuxSlot struct {
	e *entry
	h uint64 // the hash of e's key
}

// minDemuxSlots is the smallest table made.
const minDemuxSlots = 64

// newDemuxTable returns a table that holds n probes without growing,
// hashing under seed.
func newDemuxTable(n int, seed maphash.Seed) demuxTable {
	size := minDemuxSlots
	for size < 2*n {
		size *= 2
	}
	slots := make([]demuxSlot, size)
	prefault.Slice(slots) // a sweep's inserts land on random pages
	return demuxTable{slots: slots, seed: seed}
}

// demuxRun is how many consecutive keys (by remote port, or by the last
// bits of the remote address) hashDemux files in consecutive slots.
const demuxRun = 8

// hashDemux is the hash of k under seed, what a table of that seed files
// k under. It reads no table: a receive loop hashes its packets' 4-tuples
// before it takes the lock a table needs.
//
// Keys that differ only in the last three bits of the remote port and of
// the remote address share a random base, and each is filed at the base
// plus the sum of those bits (mod 8): the probes a sweep starts one after
// the other (ports 1, 2, 3 … of a host, or port 80 of .1, .2, .3 …) and
// their replies, which come back in about the same order, use a run of two
// cache lines, not a random line each. A registration's and a reply's
// lookups were the launch and receive paths' costliest cache misses (about
// 3 % of a 65,535-port sweep's CPU, by perf). Runs cluster: in a half-full
// table of a sweep, a lookup of a 4-tuple no probe has (a stray or forged
// packet) walks about 8.5 slots on average and at most about 250 (runs of
// 16: 17 and 500; a random slot each: 1.5 and 37), 16 bytes a slot, in
// order. Two keys of a group whose bits sum alike share a hash; the
// entry's key tells them apart.
func hashDemux(seed maphash.Seed, k *demuxKey) uint64 {
	g := *k
	g.rport &^= demuxRun - 1
	g.remote[15] &^= demuxRun - 1
	return maphash.Comparable(seed, g) + uint64((k.rport+uint16(k.remote[15]))&(demuxRun-1))
}

// len returns how many probes t holds.
func (t *demuxTable) len() int { return t.n }

// getHashed returns the probe of k, whose hash under t's seed is h
// (hashDemux), nil if none.
func (t *demuxTable) getHashed(k *demuxKey, h uint64) *entry {
	if t.n == 0 {
		return nil
	}
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.e == nil || s.h == h && s.e.key.is(k) {
			return s.e
		}
	}
}

// put adds e under its key, in place of a probe of the same key.
func (t *demuxTable) put(e *entry) {
	t.room()
	k := e.key.demux()
	h := hashDemux(t.seed, &k)
	if i, found := t.find(&k, h); found {
		t.slots[i].e = e
	} else {
		t.place(i, h, e)
	}
}

// room grows t, if it must, to take one more probe at most half full. A
// find and place pair calls it first: a growth in between would move the
// slot find returned.
func (t *demuxTable) room() {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
}

// find returns the slot of k, whose hash is h, and true when a probe holds
// k; else the empty slot where k would go, and false. t has room (room).
// A registration walks the table once: the slot that says its 4-tuple is
// free takes the probe (place), with no second hash or walk.
func (t *demuxTable) find(k *demuxKey, h uint64) (int, bool) {
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.e == nil {
			return int(i), false
		}
		if s.h == h && s.e.key.is(k) {
			return int(i), true
		}
	}
}

// place puts e, whose key hashes to h, in the empty slot i that find
// returned for that key; t has not changed since.
func (t *demuxTable) place(i int, h uint64, e *entry) {
	t.slots[i] = demuxSlot{e, h}
	t.n++
}

// remove takes e out, if it is the probe its key finds.
func (t *demuxTable) remove(e *entry) {
	if t.n == 0 {
		return
	}
	k := e.key.demux()
	mask := uint64(len(t.slots) - 1)
	i := hashDemux(t.seed, &k) & mask
	for ; t.slots[i].e != e; i = (i + 1) & mask {
		if t.slots[i].e == nil {
			return
		}
	}
	// Backward-shift deletion: move up each later entry of the cluster
	// whose home is not between the hole and it.
	for j := (i + 1) & mask; t.slots[j].e != nil; j = (j + 1) & mask {
		if home := t.slots[j].h & mask; (j-home)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = demuxSlot{}
	t.n--
}

func (t *demuxTable) grow() {
	old := t.slots
	if t.seed == (maphash.Seed{}) {
		t.seed = maphash.MakeSeed()
	}
	t.slots, t.n = make([]demuxSlot, max(minDemuxSlots, 2*len(old))), 0
	mask := uint64(len(t.slots) - 1)
	for _, s := range old {
		if s.e == nil {
			continue
		}
		i := s.h & mask
		for t.slots[i].e != nil {
			i = (i + 1) & mask
		}
		t.slots[i] = s
		t.n++
	}
}
