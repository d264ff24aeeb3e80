package probe

import "time"

// timerHeap orders probes by their next deadline, and probes due at the
// same time (a batch started at one instant) by their place in the run's
// targets, so what they do next (which of them re-probes first when a
// router's ICMP rate limit ate their errors, say) does not depend on how
// the launch workers happened to interleave; p.mu.
//
// Each place holds its probe's key beside the pointer, so ordering reads
// no entry, and a sift moves each item once, writing its entry's hidx:
// with 65,535 probes in flight an entry is a cache miss, and a decided
// probe's removal with container/heap read two entries per comparison.
type timerHeap []timerItem

// timerItem is a probe in the timer heap and its key.
type timerItem struct {
	due   int64 // the deadline, in ns since Prober.base
	index int   // the target's place, for ties
	e     *entry
}

func (a *timerItem) before(b *timerItem) bool {
	if a.due != b.due {
		return a.due < b.due
	}
	return a.index < b.index
}

// set puts it at place i and tells its entry.
func (h timerHeap) set(i int, it timerItem) {
	h[i] = it
	it.e.hidx = int32(i)
}

// up moves the item at i towards the root to its place.
func (h timerHeap) up(i int) {
	it := h[i]
	for i > 0 {
		parent := (i - 1) / 2
		if !it.before(&h[parent]) {
			break
		}
		h.set(i, h[parent])
		i = parent
	}
	h.set(i, it)
}

// down moves the item at i away from the root to its place; it reports
// whether it moved.
func (h timerHeap) down(i int) bool {
	it, start, n := h[i], i, len(h)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && h[r].before(&h[c]) {
			c = r
		}
		if !h[c].before(&it) {
			break
		}
		h.set(i, h[c])
		i = c
	}
	h.set(i, it)
	return i != start
}

// push adds e, due at due.
func (h *timerHeap) push(e *entry, due int64) {
	*h = append(*h, timerItem{due: due, index: e.index, e: e})
	h.up(len(*h) - 1)
}

// pop takes out the first probe due.
func (h *timerHeap) pop() *entry {
	e := (*h)[0].e
	h.remove(0)
	return e
}

// remove takes out the item at i.
func (h *timerHeap) remove(i int) {
	old := *h
	last := len(old) - 1
	old[i].e.hidx = -1
	if i != last {
		old.set(i, old[last])
	}
	old[last] = timerItem{}
	*h = old[:last]
	if i != last && !h.down(i) {
		h.up(i)
	}
}

// fix moves the item at i, whose due changed to due, to its place.
func (h timerHeap) fix(i int, due int64) {
	h[i].due = due
	if !h.down(i) {
		h.up(i)
	}
}

// schedule (re)places e in the timer heap at its Machine's deadline, or
// takes it out when it has none; p.mu is held.
func (p *Prober) schedule(e *entry) {
	d := e.m.Deadline()
	if d.IsZero() {
		p.unschedule(e)
		return
	}
	p.scheduleAt(e, d)
}

// scheduleAt (re)places e in the timer heap at t; p.mu is held.
func (p *Prober) scheduleAt(e *entry, t time.Time) {
	due := int64(t.Sub(p.base))
	if e.hidx >= 0 {
		if due == p.timers[e.hidx].due {
			return
		}
		p.timers.fix(int(e.hidx), due)
	} else {
		p.timers.push(e, due)
	}
	if p.timers[0].e == e {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// unschedule takes e out of the timer heap; p.mu is held.
func (p *Prober) unschedule(e *entry) {
	if e.hidx >= 0 {
		p.timers.remove(int(e.hidx))
	}
}

// runTimers fires every probe's schedule from one heap and one timer until
// the Prober closes. Each tick reads the kernel's drop counters once, then
// steps the due probes; their SYNs leave in batches, each checked against
// the route first (a retransmission does not leave on a route that has
// since become unreachable, just as the kernel's would not).
func (p *Prober) runTimers() {
	t := p.clock.NewTimer(time.Hour)
	defer t.Stop()
	s := newSender(p)
	s.reroute = true
	var acts []action
	for {
		p.pollDrops(false)
		p.mu.Lock()
		now := p.clock.Now()
		nowRel := int64(now.Sub(p.base))
		for len(p.timers) > 0 && p.timers[0].due <= nowRel {
			e := p.timers.pop()
			if e.pending { // a slow re-probe's slot has come
				p.startSlowReprobe(e, now, &acts)
				continue
			}
			p.dispatch(e, e.m.Tick(now), &acts)
			if e.hidx >= 0 && p.timers[e.hidx].due <= nowRel {
				// Its Machine says not yet where the heap said due:
				// look again on the next turn, with a new now, rather
				// than spin here holding p.mu.
				break
			}
		}
		wait := time.Hour
		if len(p.timers) > 0 {
			wait = time.Duration(p.timers[0].due - nowRel)
		}
		p.mu.Unlock()
		acts = s.transmit(acts)
		t.Reset(wait)
		select {
		case <-t.C():
		case <-p.wake:
		case <-p.life.Done():
			return
		}
	}
}
