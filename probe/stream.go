package probe

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"syscall"
)

// StreamFirst is how many targets a streamed run takes and plans before
// its first SYN: their links are opened and their next hops resolved
// before Config.Ready, as a Run's whole plan is. A source that holds the
// run back must let it take this many beyond those with results.
const StreamFirst = 4096

// RunStream probes the targets next yields, in order, taking each on only
// as the window of probes in flight allows, and calls emit, from one
// goroutine, with each result as it is decided (Result.Index is the
// target's place in the stream). A decided probe is let go of as soon as
// emit returned, so a run of any length holds what is in flight, not what
// was done: a slow target holds up only its own place in the window. next
// is called from one goroutine at a time and may block to hold the run
// back, once it has yielded StreamFirst targets more than have results;
// once it reports false it is not called again. When ctx is
// cancelled, probes in flight end as interrupted, so do targets taken and
// not started, next is not called again, and RunStream returns ctx.Err().
// A target needing a link opened after Config.Ready, when that fails,
// ends the run with an *EnvError.
//
// Unlike Run, a streamed run may reuse a 4-tuple of a probe it already
// decided (the same destination and port twice in the stream): the second
// probe's new ISS keeps a late reply to the first from deciding it.
func (p *Prober) RunStream(ctx context.Context, next func() (Target, bool), emit func(*Result)) error {
	r := p.newRun(ctx, true)
	defer r.releasePorts()
	defer r.openRouter()()
	f := &streamFeed{r: r, src: next}
	first, _ := f.pull(StreamFirst)
	plan, ifis, addrs, err := r.plan(first, 0)
	if err != nil {
		return err
	}
	f.first = plan
	memc := make(chan runMemory, 1)
	memc <- runMemory{}
	if err := p.launchRun(r, plan, ifis, addrs, false, memc, f, emit); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed != nil {
		return &EnvError{Err: f.failed}
	}
	return nil
}

// streamFeed pulls a streamed run's targets from its source as the
// launch workers ask for them, and plans them.
type streamFeed struct {
	r     *runState
	first []planned // planned before the launch, handed out first; p.mu

	mu     sync.Mutex // guards src, count, done and failed: one pull at a time, in order
	src    func() (Target, bool)
	count  int   // targets pulled
	done   bool  // src reported false, or the run cannot go on
	failed error // why the run cannot go on (a link that would not open)
}

// pull takes up to n targets from the source and counts them as taken on
// by the run, unless the run was interrupted (they are then dropped); base
// is the first one's place in the stream.
func (f *streamFeed) pull(n int) (ts []Target, base int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	base = f.count
	for len(ts) < n && !f.done && f.r.ctx.Err() == nil {
		t, ok := f.src()
		if !ok {
			f.done = true
			break
		}
		ts = append(ts, t)
	}
	p := f.r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if f.r.srcDone { // interrupted meanwhile: nobody waits for these
		return nil, base
	}
	f.count += len(ts)
	f.r.taken += len(ts)
	if f.done || f.r.ctx.Err() != nil {
		f.r.srcDone = true
		f.r.wake()
	}
	return ts, base
}

func (f *streamFeed) next(n int) []planned {
	r, p := f.r, f.r.p
	p.mu.Lock()
	if len(f.first) > 0 {
		blk := f.first[:min(n, len(f.first))]
		f.first = f.first[len(blk):]
		p.mu.Unlock()
		return blk
	}
	p.mu.Unlock()
	ts, base := f.pull(n)
	if len(ts) == 0 {
		return nil
	}
	blk, ifis, addrs, err := r.plan(ts, base)
	if err == nil {
		err = r.attachLinks(blk, ifis, addrs, false)
	}
	if err != nil {
		// A link this block needs could not be opened (privilege is gone,
		// an interface vanished): its targets end as local errors, no more
		// are taken on, and the run ends with the error.
		f.mu.Lock()
		f.done, f.failed = true, err
		f.mu.Unlock()
		errno := syscall.EPERM // unless the error carries its own
		_ = errors.As(err, &errno)
		p.mu.Lock()
		for i := range ts {
			pl := planned{t: &ts[i], rt: &routeResult{err: err}, i: base + i}
			r.deliver(r.localResult(&pl, LocalError, errno, ReasonLocal))
		}
		r.srcDone = true
		r.wake()
		p.mu.Unlock()
		return nil
	}
	return blk
}

func (f *streamFeed) workers() int { return runtime.GOMAXPROCS(0) }

func (f *streamFeed) interrupted() {
	r := f.r
	for i := range f.first {
		r.deliver(r.localResult(&f.first[i], Interrupted, syscall.EINTR, ReasonInterrupted))
	}
	f.first = nil
	r.srcDone = true
	r.wake()
}
