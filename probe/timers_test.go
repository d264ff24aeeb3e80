package probe

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTimerHeap runs random pushes, moves, removals and pops against a
// sorted list: the heap pops in (due, index) order, and every entry's hidx
// is its place, or -1 once it is out.
func TestTimerHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h timerHeap
	var in []*entry // the entries in the heap
	due := map[*entry]int64{}
	check := func(step int) {
		t.Helper()
		if len(h) != len(in) {
			t.Fatalf("step %d: %d in the heap, want %d", step, len(h), len(in))
		}
		for i, it := range h {
			if int(it.e.hidx) != i || it.due != due[it.e] || it.index != it.e.index {
				t.Fatalf("step %d: place %d holds an entry with hidx %d, due %d/%d, index %d/%d", step, i, it.e.hidx, it.due, due[it.e], it.index, it.e.index)
			}
			if i > 0 && h[i].before(&h[(i-1)/2]) {
				t.Fatalf("step %d: place %d is before its parent", step, i)
			}
		}
	}
	for step := 0; step < 20000; step++ {
		switch op := rng.IntN(10); {
		case op < 4 || len(in) == 0: // push
			e := &entry{hidx: -1, index: rng.IntN(50)}
			due[e] = int64(rng.IntN(100))
			h.push(e, due[e])
			in = append(in, e)
		case op < 6: // move
			e := in[rng.IntN(len(in))]
			due[e] = int64(rng.IntN(100))
			h.fix(int(e.hidx), due[e])
		case op < 8: // remove
			k := rng.IntN(len(in))
			e := in[k]
			h.remove(int(e.hidx))
			if e.hidx != -1 {
				t.Fatalf("step %d: a removed entry has hidx %d", step, e.hidx)
			}
			in = slices.Delete(in, k, k+1)
		default: // pop: the first in (due, index) order
			first := slices.MinFunc(in, func(a, b *entry) int {
				if due[a] != due[b] {
					return int(due[a] - due[b])
				}
				return a.index - b.index
			})
			e := h.pop()
			if due[e] != due[first] || e.index != first.index || e.hidx != -1 {
				t.Fatalf("step %d: popped due %d index %d (hidx %d), want due %d index %d", step, due[e], e.index, e.hidx, due[first], first.index)
			}
			in = slices.DeleteFunc(in, func(x *entry) bool { return x == e })
		}
		check(step)
	}
}
