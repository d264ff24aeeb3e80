package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/prefault"
	"github.com/tcpprobe/tcpprobe/internal/targets"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/report"
	"golang.org/x/term"
)

// rounds runs the rounds of a run and passes their results to the writer,
// in the order asked for, counting what the exit code needs.
type rounds struct {
	out   report.Writer
	order string
	plan  *targets.Plan // the targets, streamed again by each round
	prog  *progress
	sum   bool // keep per-target summaries (-c N): only then worth a map
	// stream, when set, probes a raw round of more than wholeRun targets
	// as one stream (Prober.RunStream) instead of in chunks.
	stream streamFunc

	// mu guards what follows: rounds overlap, each emitting from its own
	// Run's goroutine.
	mu        sync.Mutex
	sums      report.Summarizer
	emitted   int
	unmet     int
	werr      error
	rawRounds int // rounds probed with raw sockets
}

// none reports whether no result was written yet.
func (r *rounds) none() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.emitted == 0
}

// flush writes out what the writer buffers; the first error is kept.
func (r *rounds) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushLocked()
}

func (r *rounds) flushLocked() {
	if err := report.Flush(r.out); err != nil && r.werr == nil {
		r.werr = err
	}
}

// isTerminal reports whether w is a terminal: output there is not
// buffered, so a person sees each line as its probe finishes.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// warnStats tells on stderr what the results alone would not show: replies
// the kernel dropped, links that failed.
func warnStats(s Streams, st report.Stats) {
	// Drops that only cost a retransmission changed no result: the
	// count is in the JSON stats, not worth a warning.
	if st.Dropped > 0 && (st.Reprobed > 0 || st.Unsure > 0) {
		fmt.Fprintf(s.Err, "tcpprobe: warning: the kernel dropped %d received packets (socket buffer full); %d probes were run again, %d results may have lost their answer (their events say so): lower --rate\n", st.Dropped, st.Reprobed, st.Unsure)
	}
	if st.RateLimitReprobed > 0 || st.RateLimitUnsure > 0 {
		fmt.Fprintf(s.Err, "tcpprobe: warning: routers rate-limit ICMP errors: %d timeouts were probed again slowly because ICMP errors came back through the same next hop for other probes meanwhile; %d results may still be rate-limited errors (their events say so): lower --rate\n", st.RateLimitReprobed, st.RateLimitUnsure)
	}
	if st.ReceiveErrors > 0 {
		fmt.Fprintf(s.Err, "tcpprobe: warning: reading replies failed %d times (did an interface go down?)\n", st.ReceiveErrors)
	}
}

// chunksInFlight bounds the chunks of a round probed at once: Runs overlap
// on one Prober, so a chunk whose slowest probe waits out its schedule
// holds up only its own slot, and memory stays bounded by this many chunks.
const chunksInFlight = 4

// round probes every target once with fn, a chunk of targets at a time,
// up to chunksInFlight chunks at once. In input order a chunk writes its
// results only once the chunk before it has written all of its own.
func (r *rounds) round(ctx context.Context, seq int, mode string, fn runFunc) error {
	if mode == report.ModeRaw {
		r.mu.Lock()
		r.rawRounds++
		r.mu.Unlock()
		if r.stream != nil && r.plan.Total() > wholeRun {
			return r.streamRound(ctx, seq, mode)
		}
	}
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error // the first chunk's error: no more chunks start
		slots = make(chan struct{}, chunksInFlight)
		prev  = make(chan struct{}) // closed when the last chunk started has written all
	)
	close(prev)
	failed := func() error {
		errMu.Lock()
		defer errMu.Unlock()
		return first
	}
	err := eachChunk(r.plan.All(), chunkFor(r.plan.Total()), func(chunk []probe.Target) error {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := failed(); err != nil {
			<-slots
			return err
		}
		after, mine := prev, make(chan struct{})
		prev = mine
		wg.Go(func() {
			defer func() { <-slots }()
			if err := r.chunk(ctx, seq, mode, fn, chunk, after, mine); err != nil {
				errMu.Lock()
				if first == nil {
					first = err
				}
				errMu.Unlock()
			}
		})
		return nil
	})
	wg.Wait()
	if e := failed(); e != nil {
		return e
	}
	return err
}

// chunk probes one chunk of a round's targets with fn. In input order its
// results are written only after the previous chunk closed after, and it
// closes done when it has written all of its own.
func (r *rounds) chunk(ctx context.Context, seq int, mode string, fn runFunc, targets []probe.Target, after <-chan struct{}, done chan<- struct{}) error {
	defer close(done)
	// Input order holds results back until their predecessors are out
	// (a result's Index is its target's place); finish order (--ndjson's
	// default) needs no queue.
	var held []*probe.Result
	if r.order != OrderFinish {
		held = make([]*probe.Result, len(targets))
		prefault.Slice(held) // before the sweep, not during it
	}
	turn := func() bool { // the previous chunk is out: this one may write
		select {
		case <-after:
			return true
		default:
			return false
		}
	}
	next := 0
	write := func(res *probe.Result) { r.write(res, seq, mode) }
	err := fn(ctx, targets, func(res *probe.Result) {
		r.prog.decided()
		if r.order == OrderFinish {
			write(res)
			return
		}
		i := res.Index
		if i < next || i >= len(held) || held[i] != nil {
			write(res) // not a place in this round: out at once
			return
		}
		held[i] = res
		for next < len(held) && held[next] != nil && turn() {
			write(held[next])
			held[next] = nil
			next++
		}
	})
	if held == nil {
		return err // finish order: nothing waits for the previous chunk
	}
	// Anything still held (the previous chunk was not out yet, or a
	// result whose predecessor never came) goes out in input order.
	<-after
	for ; next < len(held); next++ {
		if held[next] != nil {
			write(held[next])
		}
	}
	return err
}

// write writes one result of round seq and counts it.
func (r *rounds) write(res *probe.Result, seq int, mode string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emitted++
	if !report.Met(res) {
		r.unmet++
	}
	if r.sum {
		r.sums.Add(res)
	}
	r.prog.print(func() {
		if err := r.out.Write(report.Entry{Result: res, Seq: seq, Mode: mode}); err != nil && r.werr == nil {
			r.werr = err
		}
	})
	if mode == report.ModeConnect { // kconnect has no Drained hook
		r.flushLocked()
	}
}

// progress shows "probed N of M" on a terminal's stderr once a run has
// lasted a while, and clears it before results are printed.
type progress struct {
	mu     sync.Mutex
	s      Streams
	total  int
	n      int
	shown  bool
	quit   chan struct{}
	once   sync.Once
	active bool
}

func newProgress(s Streams, env Env, total int) *progress {
	p := &progress{s: s, total: total, quit: make(chan struct{})}
	if !s.ErrTTY || s.Err == nil {
		return p
	}
	p.active = true
	after := env.ProgressAfter
	if after <= 0 {
		after = time.Second
	}
	go func() {
		select {
		case <-time.After(after):
		case <-p.quit:
			return
		}
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			p.mu.Lock()
			if p.total > 0 {
				fmt.Fprintf(p.s.Err, "\r\033[Ktcpprobe: %d of %d probes decided", p.n, p.total)
			} else {
				fmt.Fprintf(p.s.Err, "\r\033[Ktcpprobe: %d probes decided", p.n)
			}
			p.shown = true
			p.mu.Unlock()
			select {
			case <-t.C:
			case <-p.quit:
				return
			}
		}
	}()
	return p
}

// decided counts one decided probe, whether or not its result is out yet
// (input order holds results back until their predecessors are decided).
func (p *progress) decided() {
	p.mu.Lock()
	p.n++
	p.mu.Unlock()
}

// print runs print with the progress line cleared.
func (p *progress) print(print func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	print()
}

func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.s.Err, "\r\033[K")
		p.shown = false
	}
}

// stop ends the display and clears its line; safe to call twice.
func (p *progress) stop() {
	p.once.Do(func() {
		close(p.quit)
		p.mu.Lock()
		p.clear()
		p.mu.Unlock()
	})
}
