package e2e

import (
	"encoding/json"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/spoof"
	"github.com/tcpprobe/tcpprobe/report"
	"github.com/tcpprobe/tcpprobe/trace"
)

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

// forgedTimeExceeded builds an ICMP time exceeded (v4 11/0, v6 3/0) from
// `from` to `to` quoting quote, checksums correct.
func forgedTimeExceeded(v6 bool, from, to netip.Addr, quote []byte) []byte {
	typ, proto := uint8(11), uint8(1)
	if v6 {
		typ, proto = 3, 58
	}
	return spoof.Packet{Src: from, Dst: to, Proto: proto, L4: spoof.ICMP(from, to, typ, 0, quote)}.Bytes()
}
