package probe

import "testing"

func TestSlabTake(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		sl := probeSlab{s: newSlab(n)}
		seen := map[*entry]bool{}
		for i := 0; i < n+2; i++ { // two past the slab: allocated one by one
			e := sl.take()
			if e.m == nil || e.hidx != -1 || e.link != nil || e.m.iss != 0 || e.m.done {
				t.Fatalf("n=%d take %d: not a fresh entry: %+v", n, i, e)
			}
			if seen[e] {
				t.Fatalf("n=%d take %d: entry handed out twice", n, i)
			}
			seen[e] = true
			e.hidx = 7 // a later take must not see this
		}
	}
	if got := len(newSlab(slabMax + 10)); got != slabMax {
		t.Errorf("newSlab(slabMax+10) has %d states, want %d", got, slabMax)
	}
}
