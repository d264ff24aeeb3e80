package probe

import "sync"

// probeState is a probe's entry and Machine in one piece of memory.
type probeState struct {
	e entry
	m Machine
}

// slabMax bounds the probe states a Run allocates ahead: 65,536 of 312
// bytes. Probes past it are allocated one by one.
const slabMax = 1 << 16

// probeSlab hands out a Run's probe states in launch order; p.mu.
//
// They are allocated together and every page is written before the first
// SYN, by goroutines that run while routes are looked up and links set up
// (the kernel's RCU wait there leaves the CPUs idle), instead of two allocations and a
// page fault or so per probe during the sweep, where every CPU is busy
// sending: 65,535-port lab sweep on 2 CPUs, 0.40 -> 0.385 s. States live
// as long as any of them, which a Run's do: it keeps every probe to its end
// (Results are allocated apart, when each probe is decided).
//
// A streamed run has no slab: its probes are allocated one by one, so each
// is freed when it is decided. (In blocks, one silent probe kept its whole
// block for its timeout: a 300,000-target stream with every 100th target
// silent peaked at 466 MB.)
type probeSlab struct {
	s    []probeState
	res  []resultSpace // one per state: where its Result is made
	next int
}

// newSlab returns a slab of n probe states (at most slabMax) and room for
// their results, the memory faulted in by two goroutines.
func newSlab(n int) probeSlab {
	n = min(n, slabMax)
	sl := probeSlab{s: make([]probeState, n), res: make([]resultSpace, n)}
	var wg sync.WaitGroup
	for _, part := range [][2]int{{0, n / 2}, {n / 2, n}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := part[0]; i < part[1]; i++ {
				sl.s[i].e.hidx = -1 // touches every page
				sl.res[i].res.Index = -1
				sl.res[i].events[2].Seq = 0
			}
		}()
	}
	wg.Wait()
	return sl
}

// start makes st, zero but for hidx -1, a probe of key: its entry keyed,
// its Machine as NewMachine makes it, attached.
func (st *probeState) start(prof *Profile, key tuple, iss uint32) {
	st.e.key = key
	st.m.init(prof, &st.e.key, iss)
	st.e.m = &st.m
}

// take returns an entry of key, zero but for hidx -1, with a Machine as
// NewMachine makes it attached.
func (sl *probeSlab) take(prof *Profile, key tuple, iss uint32) *entry {
	if sl.next >= len(sl.s) {
		st := new(probeState)
		st.e.hidx = -1
		st.start(prof, key, iss)
		return &st.e
	}
	st := &sl.s[sl.next]
	st.start(prof, key, iss)
	sp := &sl.res[sl.next]
	st.m.spare = sp
	st.m.attempts = sp.first[:0]
	sl.next++
	return &st.e
}
