package cli

import (
	"context"
	"iter"
	"sync"

	"github.com/tcpprobe/tcpprobe/probe"
)

// streamFunc probes the targets next yields (probe.Prober.RunStream).
type streamFunc func(ctx context.Context, next func() (probe.Target, bool), emit func(*probe.Result)) error

// holdAhead bounds, in input order, how many targets a streamed round may
// have taken beyond the first whose result is not written yet: results
// that came early wait for it, and the round waits for them. It is more
// than the engine plans before its first SYN (probe.StreamFirst) and than
// its default window, so only a slow target far behind holds a round up.
const holdAhead = 1 << 15

// streamRound probes one raw round as a single stream: a slow target holds
// up only its own place among the probes in flight, not a chunk of
// thousands (issue 13). In input order results wait for those before
// them, at most holdAhead of them.
func (r *rounds) streamRound(ctx context.Context, seq int, mode string) error {
	pull, stop := iter.Pull2(r.plan.All())
	defer stop()
	var (
		mu      sync.Mutex // guards what follows
		cond    = sync.NewCond(&mu)
		taken   int                       // targets handed to the engine
		written int                       // input order: results written, in order
		held    = map[int]*probe.Result{} // input order: results waiting for earlier ones
		planErr error
	)
	ordered := r.order != OrderFinish
	unwait := context.AfterFunc(ctx, func() {
		mu.Lock()
		cond.Broadcast()
		mu.Unlock()
	})
	defer unwait()
	next := func() (probe.Target, bool) {
		mu.Lock()
		for ordered && taken-written >= holdAhead && ctx.Err() == nil {
			cond.Wait()
		}
		mu.Unlock()
		if ctx.Err() != nil {
			return probe.Target{}, false
		}
		t, err, ok := pull()
		if !ok {
			return probe.Target{}, false
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			planErr = planError(err)
			return probe.Target{}, false
		}
		taken++
		return t, true
	}
	emit := func(res *probe.Result) {
		r.prog.decided()
		if !ordered {
			r.write(res, seq, mode)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		held[res.Index] = res
		for {
			h, ok := held[written]
			if !ok {
				break
			}
			delete(held, written)
			written++
			r.write(h, seq, mode)
		}
		cond.Broadcast()
	}
	err := r.stream(ctx, next, emit)
	mu.Lock()
	defer mu.Unlock()
	// Anything still held (a result whose predecessor never came) goes out
	// in input order.
	for i := written; len(held) > 0; i++ {
		if h, ok := held[i]; ok {
			delete(held, i)
			r.write(h, seq, mode)
		}
	}
	if err == nil {
		err = planErr
	}
	return err
}
