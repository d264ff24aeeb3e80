package probe

import (
	"net/netip"
	"sync"
)

// probeState is a probe's entry and Machine in one piece of memory.
type probeState struct {
	e entry
	m Machine
}

// slabMax bounds the probe states a Run allocates ahead: 65,536 of 680
// bytes. Probes past it are allocated one by one.
const slabMax = 1 << 16

// probeSlab hands out a Run's probe states in launch order; p.mu.
//
// They are allocated together and every page is written before the first
// SYN, by goroutines that run while routes are looked up and links set up
// (the kernel's RCU wait there leaves the CPUs idle), instead of two allocations and a
// page fault or so per probe during the sweep, where every CPU is busy
// sending: 65,535-port lab sweep on 2 CPUs, 0.40 -> 0.385 s. States live
// as long as any of them: a caller that keeps one Result keeps its Run's
// slab.
type probeSlab struct {
	s    []probeState
	next int
}

// newSlab returns n probe states (at most slabMax), their memory faulted
// in by two goroutines: about 10,000 page faults for a full slab.
func newSlab(n int) []probeState {
	s := make([]probeState, min(n, slabMax))
	half := len(s) / 2
	var wg sync.WaitGroup
	for _, part := range [][]probeState{s[:half], s[half:]} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range part {
				part[i].e.hidx = -1 // touches every page
			}
		}()
	}
	wg.Wait()
	return s
}

// take returns a zero entry (hidx -1) with a Machine as NewMachine makes
// it attached.
func (sl *probeSlab) take(prof Profile, local, remote netip.AddrPort, iss uint32) *entry {
	if sl.next >= len(sl.s) {
		return &entry{m: NewMachine(prof, local, remote, iss), hidx: -1}
	}
	st := &sl.s[sl.next]
	sl.next++
	st.m.init(prof, local, remote, iss)
	st.e.m = &st.m
	return &st.e
}
