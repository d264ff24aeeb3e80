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
	s     []probeState
	next  int
	block int // when s runs out: a new block of this many (a streamed run's), or one at a time
}

// streamSlab is the block of probe states a streamed run allocates at a
// time: small, so a block is freed soon after its probes are decided and
// their results let go.
const streamSlab = 256

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
	if sl.next >= len(sl.s) && sl.block > 0 {
		sl.s, sl.next = make([]probeState, sl.block), 0
		for i := range sl.s {
			sl.s[i].e.hidx = -1
		}
	}
	if sl.next >= len(sl.s) {
		return &entry{m: NewMachine(prof, local, remote, iss), hidx: -1}
	}
	st := &sl.s[sl.next]
	sl.next++
	st.m.init(prof, local, remote, iss)
	st.e.m = &st.m
	return &st.e
}
