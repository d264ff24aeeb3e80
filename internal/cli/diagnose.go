package cli

import (
	"context"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/trace"
	"github.com/tcpprobe/tcpprobe/wire"
)

// diagnoseParallel bounds the traces --diagnose runs at once. Each router
// limits the ICMP errors it sends to one host (Linux: a burst of 6, then 1
// per icmp_ratelimit, 1 s), and traces that share routers share that
// budget: two traces of 3 queries per hop fill a default router's burst.
const diagnoseParallel = 2

// addDiagnoseFlags registers --diagnose and --trace-wait.
func addDiagnoseFlags(cmd *cobra.Command, o *Options) {
	f := cmd.Flags()
	f.BoolVar(&o.Diagnose, "diagnose", false, "trace every result that is not open (where and why the SYN ends) and look for signatures in the packets (answered only on a retransmission, syncookies, ICMP rate limits); keeps CAP_NET_RAW for the traces")
	f.DurationVar(&o.TraceWait, "trace-wait", 0, "with --diagnose: how long each trace query waits for its answer (0: 1s)")
}

// diagnoseConfig keeps the privilege --diagnose's traces need: they open
// raw sockets after the probes ran.
func (o *Options) diagnoseConfig(cfg *probe.Config) {
	if o.Diagnose {
		cfg.Ready = nil
	}
}

// diagnosing wraps fn: with --diagnose, the results of a round are held,
// diagnosed (a trace for each one that is not open) and then emitted.
func (o *Options) diagnosing(fn runFunc) runFunc {
	if !o.Diagnose {
		return fn
	}
	return func(ctx context.Context, targets []probe.Target, emit func(*probe.Result)) error {
		var results []*probe.Result
		err := fn(ctx, targets, func(r *probe.Result) { results = append(results, r) })
		sem := make(chan struct{}, diagnoseParallel)
		var wg sync.WaitGroup
		for _, r := range results {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				r.Diagnosis = o.diagnose(ctx, r)
			}()
		}
		wg.Wait()
		for _, r := range results {
			emit(r)
		}
		return err
	}
}

// diagnose returns r's diagnosis, or nil when an open result shows
// nothing worth saying.
func (o *Options) diagnose(ctx context.Context, r *probe.Result) *probe.Diagnosis {
	sent := probe.DefaultOptions()
	if o.NoOptions {
		sent = wire.Options{}
	}
	base := trace.Config{Target: r.Target, Dst: r.Addr, Port: r.Port, Interface: o.Interface,
		Source: r.Src, Wait: o.TraceWait, Options: sent}
	switch {
	case r.Outcome == probe.Interrupted:
		return nil
	case r.Outcome == probe.Open:
		cookie := false
		if r.SYNACK != nil && trace.CookieCandidate(sent, r.SYNACK.Options) {
			// The encoding shows across SYN-ACKs of one flow: three SYNs
			// at TTL 64, 10 ms apart.
			c := base
			c.FirstHop, c.MaxHops, c.Queries, c.NoDistance = 64, 64, 3, true
			c.SendGap = 10 * time.Millisecond
			if tr, err := trace.Run(ctx, c); err == nil {
				cookie = trace.CookieConfirmed(tr, sent)
			}
		}
		return trace.DiagnoseOpen(r, cookie)
	case !trace.NeedsTrace(r):
		return trace.Diagnose(r, nil)
	}
	tr, err := trace.Run(ctx, base)
	if err != nil {
		return &probe.Diagnosis{Cause: probe.CauseTraceFailed, Summary: "the trace could not run: " + err.Error()}
	}
	return trace.Diagnose(r, tr)
}
