package probe

import (
	"container/heap"
	"time"
)

// timerHeap orders probes by their next deadline, and probes due at the
// same time (a batch started at one instant) by their place in the run's
// targets, so what they do next (which of them re-probes first when a
// router's ICMP rate limit ate their errors, say) does not depend on how
// the launch workers happened to interleave; p.mu.
type timerHeap []*entry

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].due != h[j].due {
		return h[i].due < h[j].due
	}
	return h[i].index < h[j].index
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx = int32(i)
	h[j].hidx = int32(j)
}

func (h *timerHeap) Push(x any) {
	e := x.(*entry)
	e.hidx = int32(len(*h))
	*h = append(*h, e)
}

func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	e.hidx = -1
	*h = old[:n-1]
	return e
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
		if due == e.due {
			return
		}
		e.due = due
		heap.Fix(&p.timers, int(e.hidx))
	} else {
		e.due = due
		heap.Push(&p.timers, e)
	}
	if p.timers[0] == e {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// unschedule takes e out of the timer heap; p.mu is held.
func (p *Prober) unschedule(e *entry) {
	if e.hidx >= 0 {
		heap.Remove(&p.timers, int(e.hidx))
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
			e := heap.Pop(&p.timers).(*entry)
			if e.pending { // a slow re-probe's slot has come
				p.startSlowReprobe(e, now, &acts)
				continue
			}
			p.dispatch(e, e.m.Tick(now), &acts)
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
