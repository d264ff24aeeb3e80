package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/kconnect"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/report"
)

// probeHeapBound is the most heap one probe keeps to the end of a run
// with streamed output: its entry and state machine (about 360 bytes,
// probe's BenchmarkInFlightMemory/stream) and its result
// (about 860 bytes for a refused port; BenchmarkInFlightMemory/run
// counts both, 1.2 KiB), with room to spare.
const probeHeapBound = 2 << 10

// unplanned withdraws the bound given to Env.Planned: the run fell back to
// connect(2), whose probes the bound does not cover.
func unplanned(env Env) {
	if env.Planned != nil {
		env.Planned(-1)
	}
}

// closeProber closes pr's links at the end of a run. The close of a ring
// socket waits out two RCU grace periods, about 30 ms on a HZ=250 kernel,
// with the CPUs idle. After raw rounds the run's heap goes back to the
// kernel meanwhile, work the process's exit would otherwise do after the
// waits: on the 65,535-port lab sweep the last SYN to exit took 41.5 ms
// instead of 49 (median of 7, timed from perf samples).
func closeProber(pr *probe.Prober, raw bool) {
	if !raw {
		pr.Close()
		return
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		pr.Close()
	}()
	debug.FreeOSMemory()
	<-closed
}

// runFunc probes targets and emits each result from one goroutine: the
// shape of (*probe.Prober).Run and (*kconnect.Prober).Run.
type runFunc func(ctx context.Context, targets []probe.Target, emit func(*probe.Result)) error

func run(ctx context.Context, o *Options, args []string, s Streams, env Env, intervalSet bool) error {
	cfg, err := o.config(env)
	if err != nil {
		return err
	}
	o.diagnoseConfig(&cfg)
	if intervalSet && o.Count == 1 {
		return usagef("--interval only spaces repeated rounds: add -c N (N > 1) or drop --interval")
	}
	plan, done, err := o.plan(ctx, args, s, env)
	if err != nil {
		return err
	}
	defer done()
	total := plan.Total()
	if err := checkSource(cfg.Source, familyTargets(plan)); err != nil {
		return err
	}
	if err := o.checkSourcePort(cfg, familyTargets(plan)); err != nil {
		return err
	}
	switch {
	case env.Planned == nil:
	case total > wholeRun:
		// A bigger round is streamed or chunked and lets go of what it
		// decided: the collector must run for it, and its live heap is
		// what is in flight.
		env.Planned(-1)
	case o.JUnit == "" && o.Mode != ModeConnect && o.Count > 0:
		// Text, NDJSON and the JSON document stream each result out;
		// what stays is the probe's state and result, about 1.2 KiB
		// (probeHeapBound). JUnit holds every result, and connect(2)
		// probes cost what the net package allocates: no bound for them.
		env.Planned(min(total, math.MaxInt64/probeHeapBound/int64(o.Count)) * int64(o.Count) * probeHeapBound)
	}
	if o.Quiet {
		// Nothing on standard output; on standard error only what ends
		// the run (printed by exitCode, which has the real stream).
		s.Out, s.Err, s.ErrTTY = io.Discard, io.Discard, false
	}
	if _, err := probe.New(cfg); err != nil {
		return &UsageError{Err: err}
	}
	// Standard output that is not a terminal (a file, a pipe) is buffered
	// for the whole run: a sweep of 65,535 ports would otherwise make one
	// write(2) per result. The buffer is flushed whenever the prober has
	// handed on every result decided so far (Config.Drained), after each
	// result of --mode connect, and at the end, so a reader of --ndjson
	// still sees each line as its probe finishes.
	out := s.Out
	var bw *bufio.Writer
	if !isTerminal(s.Out) {
		bw = bufio.NewWriterSize(s.Out, 256<<10)
		out = bw
		defer bw.Flush() // early returns; Close flushes on the normal path
	}
	var w report.Writer
	switch {
	case o.JSON:
		w = report.NewJSON(out)
	case o.NDJSON && bw != nil:
		w = report.NewNDJSONBatched(out)
	case o.NDJSON:
		w = report.NewNDJSON(out)
	default:
		w = report.NewText(out, o.Verbose)
	}
	var junitFile *os.File
	if o.JUnit != "" {
		f, err := os.Create(o.JUnit)
		if err != nil {
			return usagef("--junit %s: %v: give a writable path", o.JUnit, errors.Unwrap(err))
		}
		junitFile = f
		w = report.Multi(w, report.NewJUnit(f))
	}
	order := o.Order
	if order == "" {
		order = OrderInput
		if o.NDJSON {
			order = OrderFinish
		}
	}

	kcfg := kconnect.Config{Profile: cfg.Profile, Interface: cfg.Interface, Source: cfg.Source,
		SourcePort: cfg.SourcePort, TTL: o.TTL, Rate: max(cfg.Rate, 0), Concurrency: cfg.Concurrency, Kernel: kernelSchedule(env)}
	mode := o.Mode
	rounds := &rounds{
		out:   w,
		order: order,
		plan:  plan,
		prog:  newProgress(s, env, int(min(total, math.MaxInt32))*o.Count),
		sum:   o.Count != 1,
	}
	cfg.Drained = rounds.flush
	// Round k starts (k-1)·interval after the first, whatever earlier
	// rounds still wait for: rounds overlap on one Prober (each probe has
	// its own port and ISS), so one dead target does not stretch the
	// others' rounds. A round after the first starts only once the first
	// settled the mode: raw sockets ready (Config.Ready, before its first
	// SYN), or the first round fell back to connect(2).
	settled := make(chan struct{})
	var (
		settleOnce sync.Once
		start      time.Time // when the first round's first SYN was about to leave
	)
	settle := func() {
		settleOnce.Do(func() {
			start = time.Now()
			close(settled)
		})
	}
	ready := cfg.Ready
	cfg.Ready = func() error {
		settle()
		if ready != nil {
			return ready()
		}
		return nil
	}
	// One Prober for every round: its links, opened before privilege is
	// dropped, serve them all.
	pr, _ := probe.New(cfg)
	defer func() { closeProber(pr, rounds.rawRounds > 0) }()
	rawRun, err := o.lifeRunner(cfg, pr.Run)
	if err != nil {
		return err
	}
	if o.Life.Handshake != handshakeFull && o.Life.Scan != scanACK && !o.Diagnose {
		rounds.stream = pr.RunStream // plain SYN probes: a big round streams
	}
	defer rounds.prog.stop()

	var (
		errMu  sync.Mutex
		runErr error // the first round's error that ends the run
		wg     sync.WaitGroup
		notice connectNotice // once per run, whichever round falls back
	)
	fail := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		if runErr == nil {
			runErr = err
		}
	}
	failed := func() bool {
		errMu.Lock()
		defer errMu.Unlock()
		return runErr != nil
	}
	// round probes every target once; only the first round may change
	// mode (before it sent anything).
	round := func(seq int) {
		defer wg.Done()
		if seq == 1 {
			defer settle() // it ended before its first SYN
		}
		num := 0
		if o.Count != 1 {
			num = seq
		}
		if mode != ModeConnect {
			err := rounds.round(ctx, num, report.ModeRaw, o.diagnosing(rawRun))
			var ee *probe.EnvError
			fallback := seq == 1 && mode == ModeAuto && errors.As(err, &ee) && rounds.none()
			switch {
			case fallback && errors.Is(err, os.ErrPermission):
				fmt.Fprintf(s.Err, "tcpprobe: notice: raw sockets are not allowed (%v); using the kernel's connect(2) instead (--mode connect): same outcomes, no packet timeline. For raw probing run as root or: sudo setcap cap_net_raw+ep \"$(command -v tcpprobe)\"\n", errorOnce(ee.Err))
			case fallback && ee.Fallback:
				fmt.Fprintf(s.Err, "tcpprobe: notice: %v; using the kernel's connect(2) instead (--mode connect): same outcomes, no packet timeline\n", ee.Err)
			default:
				if err != nil {
					fail(err)
				}
				return
			}
			mode = ModeConnect
			unplanned(env)
		}
		if seq == 1 {
			settle() // connect(2) rounds need nothing settled
		}
		notice.say(s, kcfg)
		if err := rounds.round(ctx, num, report.ModeConnect, o.diagnosing(kconnect.New(kcfg).Run)); err != nil {
			fail(err)
		}
	}
	for seq := 1; o.Count == 0 || seq <= o.Count; seq++ {
		if seq > 1 {
			select {
			case <-settled:
			case <-ctx.Done():
			}
			t := time.NewTimer(time.Until(start.Add(time.Duration(seq-1) * o.Interval)))
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
		if ctx.Err() != nil {
			fail(ctx.Err())
			break
		}
		if failed() {
			break
		}
		wg.Add(1)
		go round(seq)
	}
	wg.Wait()
	rounds.prog.stop()
	if rounds.rawRounds > 0 {
		st := report.StatsFrom(pr.Stats())
		if sw, ok := w.(report.StatsWriter); ok {
			sw.SetStats(st)
		}
		warnStats(s, st)
	}
	var werr error
	if o.Count != 1 && rounds.emitted > 0 {
		werr = w.Summarize(rounds.sums.Summaries())
	}
	if err := w.Close(); err != nil && werr == nil {
		werr = err
	}
	if err := rounds.werr; err != nil {
		werr = err
	}
	if junitFile != nil {
		if err := junitFile.Close(); err != nil && werr == nil {
			werr = err
		}
	}
	switch {
	case runErr != nil:
		return runErr
	case werr != nil:
		return fmt.Errorf("writing results: %w", werr)
	case rounds.unmet > 0:
		return errUnmet
	}
	return nil
}
