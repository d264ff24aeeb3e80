package serve

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errQueueFull is a scrape turned away because too many wait already.
var errQueueFull = errors.New("too many scrapes waiting for a probe slot")

// gate bounds the probes in flight and queues the scrapes beyond the
// bound, first come first served, up to a limit of its own.
type gate struct {
	mu sync.Mutex
	// Following fields protected by mu.
	max, queueMax int
	running       int
	waiting       []chan struct{} // FIFO; closing one hands its waiter a slot
	peak          int             // most running at once, for tests and /metrics
}

func newGate(max, queue int) *gate { return &gate{max: max, queueMax: queue} }

// setLimits changes the bounds (a reload); waiters that now fit start.
func (g *gate) setLimits(max, queue int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.max, g.queueMax = max, queue
	for g.running < g.max && len(g.waiting) > 0 {
		g.handOverLocked()
	}
}

func (g *gate) handOverLocked() {
	ch := g.waiting[0]
	g.waiting = g.waiting[1:]
	g.running++
	g.peak = max(g.peak, g.running)
	close(ch)
}

// acquire waits for a slot until ctx ends; errQueueFull when the queue
// is full.
func (g *gate) acquire(ctx context.Context) error {
	g.mu.Lock()
	if g.running < g.max && len(g.waiting) == 0 {
		g.running++
		g.peak = max(g.peak, g.running)
		g.mu.Unlock()
		return nil
	}
	if len(g.waiting) >= g.queueMax {
		g.mu.Unlock()
		return errQueueFull
	}
	ch := make(chan struct{})
	g.waiting = append(g.waiting, ch)
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		for i, w := range g.waiting {
			if w == ch {
				g.waiting = append(g.waiting[:i], g.waiting[i+1:]...)
				return ctx.Err()
			}
		}
		// The slot was handed over as ctx ended: give it back.
		g.releaseLocked()
		return ctx.Err()
	}
}

func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.releaseLocked()
}

func (g *gate) releaseLocked() {
	g.running--
	for g.running < g.max && len(g.waiting) > 0 {
		g.handOverLocked()
	}
}

// counts returns the probes running, the scrapes queued and the peak.
func (g *gate) counts() (running, queued, peak int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running, len(g.waiting), g.peak
}

// flightKey is what the minimum interval is kept per.
type flightKey struct {
	module string
	addr   string // the probed address and port
}

// flight is one probe of a target and module, shared by every scrape that
// asks for the same within the minimum interval.
type flight struct {
	done     chan struct{} // closed when ans/err are set
	ans      probeAnswer
	err      error
	finished time.Time
}

// flights keeps the last probe of each target and module.
type flights struct {
	mu sync.Mutex
	// Following fields protected by mu.
	m map[flightKey]*flight
}

// maxFlights is how many finished flights are kept before the old ones
// are swept.
const maxFlights = 4096

// join returns the flight to use for k: one in progress, one finished
// less than interval ago (reused true for both), or a new one that the
// caller must run and finish.
func (fs *flights) join(k flightKey, interval time.Duration, now time.Time) (f *flight, reused bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.m == nil {
		fs.m = map[flightKey]*flight{}
	}
	if f := fs.m[k]; f != nil && interval > 0 {
		select {
		case <-f.done:
			if f.err == nil && now.Sub(f.finished) < interval {
				return f, true
			}
		default:
			return f, true
		}
	}
	if len(fs.m) >= maxFlights {
		fs.sweepLocked(interval, now)
	}
	f = &flight{done: make(chan struct{})}
	fs.m[k] = f
	return f, false
}

// sweepLocked forgets finished flights too old to be reused.
func (fs *flights) sweepLocked(interval time.Duration, now time.Time) {
	for k, f := range fs.m {
		select {
		case <-f.done:
			if now.Sub(f.finished) >= interval {
				delete(fs.m, k)
			}
		default:
		}
	}
}

// finish records a flight's result and wakes those waiting for it.
func (fs *flights) finish(f *flight, ans probeAnswer, err error, now time.Time) {
	fs.mu.Lock()
	f.ans, f.err, f.finished = ans, err, now
	fs.mu.Unlock()
	close(f.done)
}
