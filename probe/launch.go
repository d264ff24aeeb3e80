package probe

import (
	"context"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/tcpprobe/tcpprobe/rawsock"
)

// Window bounds of RateMax: the number of probes in flight starts at
// windowStart and moves between windowMin and windowMax.
const (
	windowStart = 4096
	windowMin   = 64
	windowMax   = 1 << 16
)

// launcher starts a run's planned probes, honouring Rate (a token bucket)
// and the window of probes in flight (Concurrency, or the adaptive window
// of RateMax), and sends first SYNs in batches from GOMAXPROCS-1 workers:
// on a veth path each send carries the packet through the peers' stacks
// inside the system call, so parallel senders use every CPU. With
// UseSweepProcs one sender more than CPUs keeps every CPU busy while a
// sender is between calls, and one P is left for the rest. A target whose
// probe cannot start gets its local-error result here; one whose next hop
// is still being resolved starts from its own goroutine once it is.
type launcher struct {
	r    *runState
	feed feed
	slow sync.WaitGroup // probes waiting for their next hop

	pmu  sync.Mutex
	pace pacer // pmu
}

// feed hands the launch workers planned probes to start, a block at a
// time: a Run's whole plan (planFeed), or targets pulled from a source and
// planned as they come (streamFeed, stream.go).
type feed interface {
	// next returns up to n planned probes, none when the run has no more;
	// p.mu is not held.
	next(n int) []planned
	// workers is how many launch workers the feed can keep busy.
	workers() int
	// interrupted is called once the run's context ended, p.mu held: the
	// feed hands out nothing more, and reports what it had planned and
	// not handed out as interrupted.
	interrupted()
}

// planFeed hands out a plan made before the launch.
type planFeed struct {
	r    *runState
	plan []planned
	pos  int // first plan entry not handed out; p.mu
}

func (f *planFeed) next(n int) []planned {
	p := f.r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	blk := f.plan[f.pos:min(len(f.plan), f.pos+n)]
	f.pos += len(blk)
	return blk
}

func (f *planFeed) workers() int {
	return (len(f.plan) + rawsock.MaxBatch - 1) / rawsock.MaxBatch
}

func (f *planFeed) interrupted() {
	for ; f.pos < len(f.plan); f.pos++ {
		f.r.deliver(f.r.localResult(&f.plan[f.pos], Interrupted, syscall.EINTR, ReasonInterrupted))
	}
}

// run starts every planned probe and returns when each has started or
// been decided.
func (l *launcher) run() {
	p := l.r.p
	l.pace.init(p.cfg.Rate, p.clock.Now())
	// Senders hold their P through each sendmmsg (rawsock.WriteIPBatch):
	// one P stays free for the receive loop, the timers and the output.
	workers := min(max(1, runtime.GOMAXPROCS(0)-1), l.feed.workers())
	var all sync.WaitGroup
	for range workers {
		all.Add(1)
		go func() { defer all.Done(); l.work() }()
	}
	all.Wait()
}

// work takes a block of planned probes at a time from the feed and starts
// them, up to a batch at a time as the window and the pace allow.
func (l *launcher) work() {
	r, p := l.r, l.r.p
	ctx := r.ctx
	s := newSender(p)
	var (
		acts []action
		blk  []planned // from the feed, not started yet
	)
	wait := p.clock.NewTimer(time.Hour)
	defer wait.Stop()
	for {
		if len(blk) == 0 && ctx.Err() == nil {
			if blk = l.feed.next(rawsock.MaxBatch); len(blk) == 0 {
				return
			}
		}
		if ctx.Err() != nil {
			p.mu.Lock()
			for i := range blk {
				r.deliver(r.localResult(&blk[i], Interrupted, syscall.EINTR, ReasonInterrupted))
			}
			l.feed.interrupted()
			p.mu.Unlock()
			return
		}
		n := len(blk)
		p.mu.Lock()
		if p.window > 0 {
			n = min(n, p.window-p.inflight)
			if r.stream {
				n -= r.unemitted
			}
		}
		p.mu.Unlock()
		if n <= 0 {
			wait.Reset(time.Millisecond) // re-read drops, window
			select {
			case <-p.slot:
			case <-ctx.Done():
			case <-wait.C():
				p.pollDrops(false)
			}
			continue
		}
		l.pmu.Lock()
		n = l.pace.take(ctx, n, p.clock)
		l.pmu.Unlock()
		if n == 0 {
			continue
		}
		var need *planned // a probe that needs a new source port first
		p.mu.Lock()
		if ctx.Err() != nil {
			p.mu.Unlock()
			continue
		}
		now := p.clock.Now()
		started := 0
		for ; started < n; started++ {
			if !l.start(&blk[started], now, &acts) {
				need = &blk[started]
				break
			}
		}
		p.mu.Unlock()
		acts = s.transmit(acts)
		if need != nil {
			r.reservePort(need)
		}
		blk = blk[started:]
		p.pollDrops(false)
	}
}

// start starts one probe, appending its first SYN to acts, or decides it
// locally; it reports false, having done nothing, when the probe needs a
// source port the run does not hold yet. p.mu is held.
func (l *launcher) start(pl *planned, now time.Time, acts *[]action) bool {
	r, p := l.r, l.r.p
	if pl.rt.err != nil {
		r.deliver(r.routeFailure(pl))
		return true
	}
	ls := pl.ls
	nr := pl.rt.nr
	if nr == nil {
		var ready bool
		if nr, ready = p.neigh.lookup(pl.rt.r, r.started); !ready {
			p.inflight++
			l.slow.Add(1)
			slow := *pl // a streamed block's memory is reused
			go func() {
				defer l.slow.Done()
				l.startSlow(&slow, ls, nr)
			}()
			return true
		}
		pl.rt.nr = nr
	}
	if nr.err != nil {
		r.deliver(r.neighborFailure(pl, nr))
		return true
	}
	e, err := r.register(pl, ls, nr)
	if err == errNeedPort {
		return false
	}
	if err != nil {
		r.deliver(r.portFailure(pl, err))
		return true
	}
	p.inflight++
	p.dispatch(e, e.m.Start(now), acts)
	return true
}

// startSlow starts one probe whose next hop was not resolved yet, from its
// own goroutine; the probe already counts as in flight.
func (l *launcher) startSlow(pl *planned, ls *linkState, nr *neighResult) {
	r, p := l.r, l.r.p
	select {
	case <-nr.done:
	case <-r.ctx.Done():
	}
	var acts []action
	for {
		p.mu.Lock()
		if r.ctx.Err() != nil {
			p.release()
			r.deliver(r.localResult(pl, Interrupted, syscall.EINTR, ReasonInterrupted))
			p.mu.Unlock()
			return
		}
		if nr.err != nil {
			p.release()
			r.deliver(r.neighborFailure(pl, nr))
			p.mu.Unlock()
			return
		}
		e, err := r.register(pl, ls, nr)
		if err == errNeedPort {
			p.mu.Unlock()
			r.reservePort(pl)
			continue
		}
		if err != nil {
			p.release()
			r.deliver(r.portFailure(pl, err))
			p.mu.Unlock()
			return
		}
		p.dispatch(e, e.m.Start(p.clock.Now()), &acts)
		p.mu.Unlock()
		newSender(p).transmit(acts)
		return
	}
}

// pacer is a token bucket of new probes per second, refilled continuously;
// it lets bursts of up to one batch through so sends can be batched.
type pacer struct {
	rate   float64 // probes per second; 0 or less: no limit
	tokens float64
	last   time.Time
}

func (pc *pacer) init(rate float64, now time.Time) {
	pc.rate, pc.last, pc.tokens = rate, now, 1
}

// take returns how many of n probes may start now, at least one unless ctx
// ends, sleeping on c until then.
func (pc *pacer) take(ctx context.Context, n int, c Clock) int {
	if pc.rate <= 0 {
		return n
	}
	burst := max(1, min(float64(rawsock.MaxBatch), pc.rate/1000)) // ≤ 1 ms of probes
	for {
		t := c.Now()
		pc.tokens = min(burst, pc.tokens+t.Sub(pc.last).Seconds()*pc.rate)
		pc.last = t
		if pc.tokens >= 1 {
			k := min(n, int(pc.tokens))
			pc.tokens -= float64(k)
			return k
		}
		d := time.Duration((1 - pc.tokens) / pc.rate * float64(time.Second))
		if !sleep(ctx, c, d) {
			return 0
		}
	}
}
