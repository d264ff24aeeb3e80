package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
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
	"github.com/tcpprobe/tcpprobe/internal/spoof"
	"github.com/tcpprobe/tcpprobe/report"
	"github.com/tcpprobe/tcpprobe/trace"
	xicmp "golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
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
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := c.Command(ctx, c.Client, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := run{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		r.exit = ee.ExitCode()
	default:
		return r, fmt.Errorf("tcpprobe %s: %v (after %v)\nstderr: %s", strings.Join(args, " "), err, r.took, r.stderr)
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

// TestTraceChainPaths proves what only a chain shows: a trace holds its
// flow on one ECMP path where per-probe flows spread over both; a stateless
// NAT's rewritten quotes are reported (and conntrack's restored ones are
// not); a full accept queue and syncookies are diagnosed from the client.
func TestTraceChainPaths(t *testing.T) {
	c := chainLab(t)
	type check func(t *testing.T)
	var names []string
	var work []func() check
	add := func(name string, fn func() check) {
		names = append(names, name)
		work = append(work, fn)
	}
	for _, v6 := range []bool{false, true} {
		fam, srv, cookie := "v4", lab.ChainServerV4, lab.ChainCookieV4
		stateless, masq := lab.ChainClientStatelessV4, lab.ChainClientNATV4
		if v6 {
			fam, srv, cookie = "v6", lab.ChainServerV6, lab.ChainCookieV6
			stateless, masq = lab.ChainClientStatelessV6, lab.ChainClientNATV6
		}
		add(fam+"/ecmp", func() check {
			doc, terr := traceJSON(c, "--queries", "5", ap(srv, lab.ChainPortECMP).String())
			pa, pb, perr := c.ECMPCounts("paris", v6)
			_, verr := inChain(c, 30*time.Second, "--json", "-c", "16", "--interval", "20ms", "--timeout", "300ms",
				ap(srv, lab.ChainPortECMPVary).String())
			va, vb, cerr := c.ECMPCounts("vary", v6)
			return func(t *testing.T) {
				for _, err := range []error{terr, perr, verr, cerr} {
					if err != nil {
						t.Fatal(err)
					}
				}
				if doc.Verdict.Outcome != "refused" || doc.Verdict.Hop != 5 {
					t.Errorf("trace verdict %+v, want refused at hop 5", doc.Verdict)
				}
				// Hops 3, 4 and 5 (5 queries each) cross R2, and maybe
				// hops in flight past 5.
				if min(pa, pb) != 0 || max(pa, pb) < 15 {
					t.Errorf("trace SYNs per path at R2: a=%d b=%d, want all of them (≥ 15) on one path", pa, pb)
				}
				if va == 0 || vb == 0 {
					t.Errorf("16 probes with their own source ports per path at R2: a=%d b=%d, want both paths used", va, vb)
				}
				t.Logf("ECMP at R2: trace (one flow) a=%d b=%d; 16 probes (16 flows) a=%d b=%d", pa, pb, va, vb)
			}
		})
		add(fam+"/stateless-nat", func() check {
			doc, err := traceJSON(c, "--source", stateless.String(), ap(srv, lab.ChainPortOpen).String())
			return func(t *testing.T) {
				if err != nil {
					t.Fatal(err)
				}
				if doc.Verdict.Outcome != "open" || doc.Verdict.Hop != 5 {
					t.Errorf("verdict %+v, want open at hop 5", doc.Verdict)
				}
				for _, h := range doc.Hops[:min(len(doc.Hops), 4)] {
					for _, q := range h.Queries {
						if q.Kind != trace.KindTimeExceeded || !q.QuoteRewritten || !slices.Contains(q.Rewritten, "source") {
							t.Errorf("hop %d: %+v, want a time exceeded whose quote has the source rewritten", h.TTL, q)
						}
					}
				}
			}
		})
		add(fam+"/masquerade", func() check {
			doc, err := traceJSON(c, "--source", masq.String(), ap(srv, lab.ChainPortOpen).String())
			return func(t *testing.T) {
				if err != nil {
					t.Fatal(err)
				}
				if doc.Verdict.Outcome != "open" || doc.Verdict.Hop != 5 {
					t.Errorf("verdict %+v, want open at hop 5", doc.Verdict)
				}
				// conntrack translates the quotes of RELATED ICMP errors
				// back: nothing differs by the time they reach us.
				for _, h := range doc.Hops {
					for _, q := range h.Queries {
						if q.QuoteRewritten {
							t.Errorf("hop %d: quote rewritten %v behind conntrack NAT, which restores quotes", h.TTL, q.Rewritten)
						}
					}
				}
			}
		})
		add(fam+"/full-accept-queue", func() check {
			ferr := c.FillAcceptQueue(lab.ChainPortFullQueue, v6)
			target := ap(srv, lab.ChainPortFullQueue).String()
			doc, terr := traceJSON(c, target)
			res, derr := diagnoseJSON(c, target)
			return func(t *testing.T) {
				for _, err := range []error{ferr, terr, derr} {
					if err != nil {
						t.Fatal(err)
					}
				}
				if doc.Verdict.Outcome != "timeout" || doc.LastRespondingHop != 4 || doc.DestinationHops != 5 {
					t.Errorf("trace: verdict %+v last_responding_hop %d destination_hops %d, want timeout, 4, 5", doc.Verdict, doc.LastRespondingHop, doc.DestinationHops)
				}
				d := res.Diagnosis
				if res.Outcome != "timeout" || d == nil || d.Cause != "destination-silent" || d.Hop != 5 || !strings.Contains(d.Summary, "accept queue is full") {
					t.Errorf("outcome %s diagnosis %+v, want timeout, destination-silent at hop 5 naming the accept queue", res.Outcome, d)
				}
			}
		})
		add(fam+"/accept-queue-drains", func() check {
			ferr := c.FillAcceptQueue(lab.ChainPortSlowQueue, v6)
			c.AcceptOneAfter(v6, 1200*time.Millisecond)
			r, err := inChain(c, 30*time.Second, "--json", "--diagnose", "--schedule", "0,2s/3s", ap(srv, lab.ChainPortSlowQueue).String())
			var doc report.Document
			if err == nil {
				err = json.Unmarshal([]byte(r.stdout), &doc)
			}
			return func(t *testing.T) {
				for _, err := range []error{ferr, err} {
					if err != nil {
						t.Fatal(err)
					}
				}
				if len(doc.Results) != 1 {
					t.Fatalf("want one result: %s", r.stdout)
				}
				res := doc.Results[0]
				d := res.Diagnosis
				if res.Outcome != "open" || len(res.Attempts) != 2 || d == nil || d.Cause != "answered-on-retransmission" ||
					!strings.Contains(d.Summary, "loss") || !strings.Contains(d.Summary, "accept queue") {
					t.Errorf("outcome %s after %d SYNs, diagnosis %+v; want open on the 2nd SYN, answered-on-retransmission naming loss and the accept queue", res.Outcome, len(res.Attempts), d)
				}
			}
		})
		add(fam+"/syncookies", func() check {
			target := ap(cookie, lab.ChainPortOpen).String()
			doc, terr := traceJSON(c, target)
			res, derr := diagnoseJSON(c, target)
			return func(t *testing.T) {
				for _, err := range []error{terr, derr} {
					if err != nil {
						t.Fatal(err)
					}
				}
				if doc.Verdict.Summary != "open at hop 5" {
					t.Errorf("trace verdict %+v, want open at hop 5", doc.Verdict)
				}
				if d := res.Diagnosis; res.Outcome != "open" || d == nil || d.Cause != "syn-cookie" || d.Address != cookie.String() {
					t.Errorf("outcome %s diagnosis %+v, want open, syn-cookie from %s", res.Outcome, d, cookie)
				}
			}
		})
	}
	for _, v6 := range []bool{false, true} {
		fam, srv, port, r2 := "v4", lab.ChainServerV4, lab.ChainPortRateLimitedV4, lab.ChainHopV4[1]
		if v6 {
			fam, srv, port, r2 = "v6", lab.ChainServerV6, lab.ChainPortRateLimitedV6, lab.ChainHopV6[1]
		}
		add(fam+"/icmp-rate-limited", func() check {
			// R2 answers the probe's SYN, then nothing: only --diagnose
			// touches this port.
			res, err := diagnoseJSON(c, "--profile", "linux", ap(srv, uint16(port)).String())
			return func(t *testing.T) {
				if err != nil {
					t.Fatal(err)
				}
				d := res.Diagnosis
				if res.Outcome != "unreachable" || res.Responder != r2.String() || d == nil ||
					d.Cause != "icmp-rate-limited" || d.Hop != 2 || d.Address != r2.String() {
					t.Errorf("outcome %s from %s, diagnosis %+v; want unreachable from %s, icmp-rate-limited at hop 2", res.Outcome, res.Responder, d, r2)
				}
			}
		})
		add(fam+"/forged-time-exceeded", func() check {
			return forgedTrace(c, v6)
		})
	}
	checks := make([]check, len(work))
	concurrently(len(work), 12, func(i int) { checks[i] = work[i]() })
	for i, name := range names {
		t.Run(name, checks[i])
	}
}

// forgedTrace traces the server's dropping port while a forger on R1's
// link to the client answers the first query with two forged time
// exceeded messages, one quoting another sequence number and one another
// destination port: the trace must list both as ignored and conclude as
// without them.
func forgedTrace(c *lab.Chain, v6 bool) func(t *testing.T) {
	srv, r1 := lab.ChainServerV4, lab.ChainHopV4[0]
	if v6 {
		srv, r1 = lab.ChainServerV6, lab.ChainHopV6[0]
	}
	dst := ap(srv, lab.ChainPortServerDrop)
	var tap *spoof.Tap
	var clientMAC net.HardwareAddr
	err := c.Do(c.Routers[0], func() (err error) {
		tap, err = spoof.OpenTap("a0")
		return err
	})
	if err == nil {
		err = c.Do(c.Client, func() error {
			ifi, err := net.InterfaceByName("c0")
			if err == nil {
				clientMAC = ifi.HardwareAddr
			}
			return err
		})
	}
	if err != nil {
		return func(t *testing.T) { t.Fatal(err) }
	}
	defer tap.Close()
	forged := make(chan error, 1)
	go func() {
		syn, err := tap.WaitSYN(dst, time.Now().Add(10*time.Second))
		if err != nil {
			forged <- err
			return
		}
		q := syn.Quote()
		wrongSeq := syn.SetSeq(append([]byte(nil), q...), syn.ISS()+1_000_000)
		wrongPort := syn.SetPorts(append([]byte(nil), q...), syn.Seg.SrcPort, syn.Seg.DstPort+7)
		for _, quote := range [][]byte{wrongSeq, wrongPort} {
			if err := tap.Inject(clientMAC, forgedTimeExceeded(v6, r1, syn.IP.Src, quote)); err != nil {
				forged <- err
				return
			}
		}
		forged <- nil
	}()
	doc, terr := traceJSON(c, dst.String())
	ferr := <-forged
	return func(t *testing.T) {
		for _, err := range []error{ferr, terr} {
			if err != nil {
				t.Fatal(err)
			}
		}
		var why []string
		for _, ig := range doc.Ignored {
			if ig.From == r1.String() {
				why = append(why, ig.Why)
			}
		}
		slices.Sort(why)
		if !slices.Equal(why, []string{"icmp-quote-addr", "icmp-quote-seq"}) {
			t.Errorf("ignored from %s: %v (all: %+v), want icmp-quote-addr and icmp-quote-seq", r1, why, doc.Ignored)
		}
		if doc.Verdict.Outcome != "timeout" || doc.LastRespondingHop != 4 {
			t.Errorf("verdict %+v after hop %d, want timeout after hop 4 as without the forgeries", doc.Verdict, doc.LastRespondingHop)
		}
		for _, q := range doc.Hops[0].Queries {
			if q.Kind != trace.KindTimeExceeded {
				t.Errorf("hop 1 query %+v, want the real time exceeded", q)
			}
		}
	}
}

// forgedTimeExceeded builds an ICMP time exceeded (v4 11/0, v6 3/0) from `from`
// to `to` quoting quote, checksums correct.
func forgedTimeExceeded(v6 bool, from, to netip.Addr, quote []byte) []byte {
	m := xicmp.Message{Type: ipv4.ICMPTypeTimeExceeded, Body: &xicmp.TimeExceeded{Data: quote}}
	var psh []byte
	proto := byte(1)
	if v6 {
		m.Type, proto = ipv6.ICMPTypeTimeExceeded, 58
		psh = xicmp.IPv6PseudoHeader(from.AsSlice(), to.AsSlice())
	}
	body, _ := m.Marshal(psh)
	if v6 {
		h := make([]byte, 40, 40+len(body))
		h[0] = 6 << 4
		binary.BigEndian.PutUint16(h[4:], uint16(len(body)))
		h[6], h[7] = proto, 64
		f, d := from.As16(), to.As16()
		copy(h[8:], f[:])
		copy(h[24:], d[:])
		return append(h, body...)
	}
	h := make([]byte, 20, 20+len(body))
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(body)))
	h[8], h[9] = 64, proto
	f, d := from.As4(), to.As4()
	copy(h[12:], f[:])
	copy(h[16:], d[:])
	return spoof.FixIPv4Checksum(append(h, body...))
}
