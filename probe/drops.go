package probe

import (
	"sync"
	"time"
)

// dropPoller reads the kernel's drop counters of every link
// (PACKET_STATISTICS: a system call per link), at most once a millisecond.
type dropPoller struct {
	mu   sync.Mutex // one poll at a time; guards last and calm
	last time.Time  // last poll
	calm time.Time  // last change of the adaptive window
}

// pollDrops reads the drop counters of every link (at most every
// millisecond unless force; a poll already under way is not waited for
// unless force) and, under RateMax, halves the window when they rose or
// widens it when they did not for a while. p.mu must not be held: the
// system calls run outside it.
func (p *Prober) pollDrops(force bool) {
	d := &p.drops
	if force {
		d.mu.Lock()
	} else if !d.mu.TryLock() {
		return
	}
	defer d.mu.Unlock()
	now := p.clock.Now()
	if !force && now.Sub(d.last) < time.Millisecond {
		return
	}
	d.last = now
	var rose uint64
	for _, ls := range *p.links.Load() {
		if ls.stats == nil {
			continue
		}
		s, err := ls.stats.Stats()
		if err != nil {
			continue
		}
		if old := ls.drops.Load(); s.Dropped > old {
			rose += s.Dropped - old
			ls.drops.Store(s.Dropped)
		}
	}
	if rose == 0 && !p.adaptive {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Dropped += rose
	if !p.adaptive {
		return
	}
	switch {
	case rose > 0:
		p.window = max(windowMin, p.window/2)
		d.calm = now
	case now.Sub(d.calm) > 50*time.Millisecond && p.window < windowMax:
		if p.cfg.Concurrency == 0 || p.window < p.cfg.Concurrency {
			p.window += p.window / 4
		}
		d.calm = now
	}
}
