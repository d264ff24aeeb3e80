package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/docs/schema"
	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/report"
	"github.com/tcpprobe/tcpprobe/trace"
)

// chainLab builds the trace lab for t, or skips t when not root.
func chainLab(t *testing.T) *lab.Chain {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("lab tests need Linux network namespaces, not available on %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		t.Skip(lab.SkipNotRoot)
	}
	c, err := lab.BuildChain()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("lab: cleanup of %s: %v", c.Prefix, err)
		}
	})
	return c
}

// inChain runs tcpprobe with args in the chain's client namespace; an error
// says it could not run at all (or ran out of time). Safe to call from any
// goroutine.
func inChain(c *lab.Chain, limit time.Duration, args ...string) (run, error) {
	r, err := runBounded(limit, func(ctx context.Context) *exec.Cmd { return c.Command(ctx, c.Client, bin, args...) })
	if err != nil {
		return r, fmt.Errorf("tcpprobe %s: %w", strings.Join(args, " "), err)
	}
	return r, nil
}

// Quick schedules: every trace query waits 400 ms, a silence of 3 hops ends it.
var traceFlags = []string{"trace", "--json", "--wait", "400ms", "--gap", "3", "--max-hops", "12"}

// traceJSON runs tcpprobe trace --json and decodes the document, which
// must match the schema.
func traceJSON(c *lab.Chain, args ...string) (*trace.JSON, error) {
	r, err := inChain(c, 30*time.Second, append(slices.Clone(traceFlags), args...)...)
	if err != nil {
		return nil, err
	}
	if err := schema.Validate([]byte(r.stdout)); err != nil {
		return nil, fmt.Errorf("trace %s: output does not match docs/schema/result-v1.json: %v\n%s", strings.Join(args, " "), err, r.stdout)
	}
	var doc trace.JSON
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		return nil, fmt.Errorf("trace %s: not a JSON document (%v)\nexit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, r.exit, r.stdout, r.stderr)
	}
	if doc.Type != "trace" || !doc.Paris {
		return nil, fmt.Errorf("trace %s: type %q paris %v, want trace, true", strings.Join(args, " "), doc.Type, doc.Paris)
	}
	return &doc, nil
}

// diagnoseJSON runs tcpprobe --diagnose --json with args, which end with
// the target, and returns its result (other targets may come before it).
func diagnoseJSON(c *lab.Chain, args ...string) (*report.Result, error) {
	target := args[len(args)-1]
	all := append([]string{"--json", "--diagnose", "--trace-wait", "400ms", "--timeout", "1s"}, args...)
	r, err := inChain(c, 30*time.Second, all...)
	if err != nil {
		return nil, err
	}
	if err := schema.Validate([]byte(r.stdout)); err != nil {
		return nil, fmt.Errorf("%s: output does not match the schema: %v\n%s", strings.Join(all, " "), err, r.stdout)
	}
	var doc report.Document
	if err := json.Unmarshal([]byte(r.stdout), &doc); err == nil {
		for _, res := range doc.Results {
			if res.Target == target {
				return res, nil
			}
		}
	}
	return nil, fmt.Errorf("%s: no result for %s\nstdout: %s\nstderr: %s", strings.Join(all, " "), target, r.stdout, r.stderr)
}

// concurrently runs fn for every index below n, at most limit at once,
// and waits for all.
func concurrently(n, limit int, fn func(i int)) {
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// hopAddrs are the addresses router position hop may answer from: R3a or
// R3b at hop 3 (ECMP), and for IPv6, whose ICMP source follows the link
// the packet came in on, R4's address on either link.
func hopAddrs(v6 bool, hop int) []string {
	if !v6 {
		out := []string{lab.ChainHopV4[hop-1].String()}
		if hop == 3 {
			out = append(out, lab.ChainHop3AltV4.String())
		}
		return out
	}
	out := []string{lab.ChainHopV6[hop-1].String()}
	switch hop {
	case 3:
		out = append(out, lab.ChainHop3AltV6.String())
	case 4:
		out = append(out, "fd00:53::2")
	}
	return out
}

// traceWant is what a trace must conclude.
type traceWant struct {
	outcome, errno string
	hop            int
	responder      []string // any of
	lastHop        int
	diesAfter      []string // any of; nil: dies_after must be null
	cause          string   // --diagnose's cause; "" for no diagnosis
	diagHop        int
	diagAddr       []string
}

type traceCase struct {
	name   string
	target netip.AddrPort
	source netip.Addr // trace's --source; zero: the default
	// diagSource is --diagnose's --source (route errors a router sends
	// are rate limited per source: the trace and the diagnosis use two).
	diagSource netip.Addr
	diagExtra  string // another target for the --diagnose run
	want       traceWant
}

func traceCases(v6 bool) []traceCase {
	srv, fam, errReject, errRoute := lab.ChainServerV4, "v4", "EHOSTUNREACH", "EHOSTUNREACH"
	spare := lab.ChainClientSpareV4
	if v6 {
		srv, fam, errReject, errRoute = lab.ChainServerV6, "v6", "EACCES", "ENETUNREACH"
		spare = lab.ChainClientSpareV6
	}
	dst := []string{srv.String()}
	noRoute := netip.MustParseAddr("198.18.99.1")
	if v6 {
		noRoute = netip.MustParseAddr("2001:db8::1")
	}
	var cs []traceCase
	for hop := 1; hop <= lab.ChainHops; hop++ {
		at := hopAddrs(v6, hop)
		unreach := lab.ChainUnreachV4(hop)
		if v6 {
			unreach = lab.ChainUnreachV6(hop)
		}
		cs = append(cs,
			traceCase{name: fmt.Sprintf("%s/drop-at-hop-%d", fam, hop), target: ap(srv, lab.ChainPortDrop(hop)),
				want: traceWant{"timeout", "ETIMEDOUT", hop, at, hop, at, "filtered-after-hop", hop, at}},
			traceCase{name: fmt.Sprintf("%s/reject-at-hop-%d", fam, hop), target: ap(srv, lab.ChainPortReject(hop)),
				want: traceWant{"unreachable", errReject, hop, at, hop + 1, nil, "rejected-by-hop", hop, at}},
			traceCase{name: fmt.Sprintf("%s/unreachable-route-at-hop-%d", fam, hop), target: ap(unreach, lab.ChainPortOpen),
				diagSource: spare,
				want:       traceWant{"unreachable", errRoute, hop, at, hop, nil, "rejected-by-hop", hop, at}},
		)
	}
	last := hopAddrs(v6, lab.ChainHops)
	cs = append(cs,
		traceCase{name: fam + "/server-drop", target: ap(srv, lab.ChainPortServerDrop),
			want: traceWant{"timeout", "ETIMEDOUT", 4, last, 4, last, "destination-silent", 5, dst}},
		traceCase{name: fam + "/closed", target: ap(srv, lab.ChainPortClosed),
			want: traceWant{"refused", "ECONNREFUSED", 5, dst, 5, nil, "refused-by-destination", 5, dst}},
		traceCase{name: fam + "/open", target: ap(srv, lab.ChainPortOpen),
			want: traceWant{"open", "", 5, dst, 5, nil, "", 0, nil}},
		// The client routes only 198.18.32.0/19 and fd00::/16: nothing leaves.
		// (--diagnose gets a routable target too: a run of local errors
		// alone does not start.)
		traceCase{name: fam + "/no-route", target: ap(noRoute, lab.ChainPortOpen), diagExtra: ap(srv, lab.ChainPortOpen).String(),
			want: traceWant{"local-error", "ENETUNREACH", 0, []string{""}, 0, nil, "local", 0, []string{""}}},
	)
	return cs
}

func checkTrace(t *testing.T, doc *trace.JSON, w traceWant) {
	t.Helper()
	v := doc.Verdict
	if v.Outcome != w.outcome || v.Errno != w.errno || v.Hop != w.hop || !slices.Contains(w.responder, v.Responder) {
		t.Errorf("verdict %+v, want outcome %s errno %s hop %d responder one of %v", v, w.outcome, w.errno, w.hop, w.responder)
	}
	if doc.LastRespondingHop != w.lastHop {
		t.Errorf("last_responding_hop %d, want %d", doc.LastRespondingHop, w.lastHop)
	}
	switch {
	case w.diesAfter == nil && doc.DiesAfter != nil:
		t.Errorf("dies_after %s, want null", *doc.DiesAfter)
	case w.diesAfter != nil && (doc.DiesAfter == nil || !slices.Contains(w.diesAfter, *doc.DiesAfter)):
		t.Errorf("dies_after %v, want one of %v", doc.DiesAfter, w.diesAfter)
	}
	// Every hop below the verdict's answered from the chain, in order.
	for _, h := range doc.Hops {
		if h.TTL >= w.hop || h.TTL > lab.ChainHops {
			break
		}
		for _, q := range h.Queries {
			if q.Kind != trace.KindTimeExceeded || q.From == nil || !slices.Contains(hopAddrs(doc.Address != "" && strings.Contains(doc.Address, ":"), h.TTL), *q.From) {
				t.Errorf("hop %d: query %+v, want time-exceeded from the router at that position", h.TTL, q)
			}
		}
	}
}

// traceRun is what one case's two commands printed.
type traceRun struct {
	doc  *trace.JSON
	res  *report.Result
	errs []error
}

// TestTraceChain traces every scenario of the chain lab in both families,
// and diagnoses the same targets with --diagnose: both must name the hop
// and the cause. The cases run at once (each mostly waits for silence),
// then each is checked in its own subtest.
func TestTraceChain(t *testing.T) {
	c := chainLab(t)
	cases := append(traceCases(false), traceCases(true)...)
	runs := make([]traceRun, len(cases))
	concurrently(len(cases), 12, func(i int) {
		tc, out := cases[i], &runs[i]
		var args []string
		if tc.source.IsValid() {
			args = append(args, "--source", tc.source.String())
		}
		doc, err := traceJSON(c, append(args, tc.target.String())...)
		out.doc = doc
		if err != nil {
			out.errs = append(out.errs, err)
		}
		args = nil
		if tc.diagSource.IsValid() {
			args = append(args, "--source", tc.diagSource.String())
		}
		if tc.diagExtra != "" {
			args = append(args, tc.diagExtra)
		}
		res, err := diagnoseJSON(c, append(args, tc.target.String())...)
		out.res = res
		if err != nil {
			out.errs = append(out.errs, err)
		}
	})
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := runs[i]
			for _, err := range out.errs {
				t.Error(err)
			}
			if out.doc != nil {
				checkTrace(t, out.doc, tc.want)
				if t.Failed() {
					b, _ := json.Marshal(out.doc)
					t.Logf("trace: %s", b)
				}
			}
			if out.res == nil {
				return
			}
			d := out.res.Diagnosis
			switch {
			case tc.want.cause == "" && d != nil:
				t.Errorf("diagnosis %+v, want none", d)
			case tc.want.cause != "" && d == nil:
				t.Errorf("no diagnosis, want %s at hop %d", tc.want.cause, tc.want.diagHop)
			case d != nil && (d.Cause != tc.want.cause || d.Hop != tc.want.diagHop || !slices.Contains(tc.want.diagAddr, d.Address) || d.Summary == ""):
				t.Errorf("diagnosis %+v, want %s at hop %d by one of %v", d, tc.want.cause, tc.want.diagHop, tc.want.diagAddr)
			}
		})
	}
	t.Run("text", func(t *testing.T) {
		r, err := inChain(c, 30*time.Second, "trace", "--wait", "400ms", ap(lab.ChainServerV4, lab.ChainPortOpen).String())
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.exit != 0 || len(lines) != 7 || !strings.Contains(lines[0], "one flow for every query (Paris") ||
			!strings.HasPrefix(lines[5], "  5  198.18.44.2") || lines[6] != "verdict: open at hop 5" {
			t.Errorf("trace text (exit %d):\n%s\nwant a Paris header, hops 1-5, `verdict: open at hop 5`", r.exit, r.stdout)
		}
	})
}
