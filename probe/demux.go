package probe

import (
	"hash/maphash"
	"net/netip"
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

// demuxTable finds a probe by its 4-tuple: an open-addressed table of
// entry pointers (linear probing, at most half full), 16 to 32 bytes a
// probe where a map of demuxKey takes about 80. The key is the entry's
// own; each lookup compares it there, in memory it is about to use.
type demuxTable struct {
	slots []*entry // a power of two long, or empty
	n     int
	seed  maphash.Seed
}

// minDemuxSlots is the smallest table made.
const minDemuxSlots = 64

// newDemuxTable returns a table that holds n probes without growing.
func newDemuxTable(n int) demuxTable {
	size := minDemuxSlots
	for size < 2*n {
		size *= 2
	}
	return demuxTable{slots: make([]*entry, size), seed: maphash.MakeSeed()}
}

func (t *demuxTable) home(k *demuxKey) int {
	return int(maphash.Comparable(t.seed, *k)) & (len(t.slots) - 1)
}

// len returns how many probes t holds.
func (t *demuxTable) len() int { return t.n }

// get returns the probe of k, nil if none.
func (t *demuxTable) get(k demuxKey) *entry {
	if t.n == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := t.home(&k); ; i = (i + 1) & mask {
		e := t.slots[i]
		if e == nil || e.key.is(&k) {
			return e
		}
	}
}

// put adds e under its key, in place of a probe of the same key.
func (t *demuxTable) put(e *entry) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	k := e.key.demux()
	mask := len(t.slots) - 1
	for i := t.home(&k); ; i = (i + 1) & mask {
		switch o := t.slots[i]; {
		case o == nil:
			t.slots[i] = e
			t.n++
			return
		case o.key.is(&k):
			t.slots[i] = e
			return
		}
	}
}

// remove takes e out, if it is the probe its key finds.
func (t *demuxTable) remove(e *entry) {
	if t.n == 0 {
		return
	}
	k := e.key.demux()
	mask := len(t.slots) - 1
	i := t.home(&k)
	for ; t.slots[i] != e; i = (i + 1) & mask {
		if t.slots[i] == nil {
			return
		}
	}
	// Backward-shift deletion: move up each later entry of the cluster
	// whose home is not between the hole and it.
	for j := (i + 1) & mask; t.slots[j] != nil; j = (j + 1) & mask {
		jk := t.slots[j].key.demux()
		if h := t.home(&jk); (j-h)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = nil
	t.n--
}

func (t *demuxTable) grow() {
	old := t.slots
	if t.seed == (maphash.Seed{}) {
		t.seed = maphash.MakeSeed()
	}
	t.slots, t.n = make([]*entry, max(minDemuxSlots, 2*len(old))), 0
	for _, e := range old {
		if e != nil {
			t.put(e)
		}
	}
}
