package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
)

// The clocks of a result, checked against tcpdump on the client's own
// interface (design §7 "True clocks"): a sent event is stamped when its
// frame left, rtt_ms is the wire's SYN → SYN-ACK time of the answered SYN.

// clockTolerance is how far a sent event may be from its frame, and an RTT
// from the wire's (or 2 % of it, whichever is larger).
const clockTolerance = 50 * time.Microsecond

// TCP flags.
const (
	flRST = 0x04
	flSYN = 0x02
	flACK = 0x10
)

// clockResult is the part of a JSON result the clock checks read
// (pointers: a missing field is an error, not a zero).
type clockResult struct {
	Target          string    `json:"target"`
	Outcome         string    `json:"outcome"`
	SourcePort      uint16    `json:"source_port"`
	ISS             uint32    `json:"iss"`
	RTTMs           *float64  `json:"rtt_ms"`
	ConnectMs       *float64  `json:"connect_ms"`
	AnsweredAttempt *int      `json:"answered_attempt"`
	Started         time.Time `json:"started"`
	Attempts        []struct {
		AtMs float64   `json:"at_ms"`
		Time time.Time `json:"time"`
	} `json:"attempts"`
	Events []struct {
		AtMs float64 `json:"at_ms"`
		Dir  string  `json:"dir"`
		Kind string  `json:"kind"`
		Seq  *uint32 `json:"seq"`
	} `json:"events"`
}

// durMs converts JSON milliseconds.
func durMs(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// wireOf is what the wire shows of one probe: its SYNs (in order) and the
// SYN-ACK that answered, and our teardown RST.
type wireOf struct {
	syns   []time.Time
	synack time.Time
	rst    time.Time
	rsts   int
}

func probeOnWire(fs []wireFrame, sport uint16, iss uint32) wireOf {
	var w wireOf
	for _, f := range fs {
		switch {
		case f.SrcPort == sport && f.Flags == flSYN && f.Seq == iss:
			w.syns = append(w.syns, f.at)
		case f.DstPort == sport && f.Flags == flSYN|flACK && f.Ack == iss+1 && w.synack.IsZero():
			w.synack = f.at
		case f.SrcPort == sport && f.Flags&flRST != 0 && f.Seq == iss+1:
			// The client kernel answers the SYN-ACK with its own RST
			// from the SYN-ACK's softirq, before tcpprobe can: the
			// last RST is tcpprobe's teardown.
			w.rst = f.at
			w.rsts++
		}
	}
	return w
}

// near reports whether got is within tol of want, and the error.
func near(got, want time.Time, tol time.Duration) (time.Duration, bool) {
	d := got.Sub(want)
	return d, d.Abs() <= tol
}

// rttTolerance is clockTolerance or 2 % of the wire's RTT.
func rttTolerance(wire time.Duration) time.Duration {
	return max(clockTolerance, wire/50)
}

// checkClocks compares every open result with the wire: each sent SYN and
// RST event with its frame, rtt_ms with the SYN → SYN-ACK of the answered
// (last) SYN. A result or frame that is missing fails the test; a time off
// by more than the tolerance is returned in late, so the caller may
// measure again. It also returns the errors seen, for the log.
func checkClocks(t *testing.T, res []clockResult, fs []wireFrame) (late []string, sent, rtt []time.Duration) {
	t.Helper()
	latef := func(format string, a ...any) { late = append(late, fmt.Sprintf(format, a...)) }
	for _, r := range res {
		if r.Outcome != "open" || r.RTTMs == nil {
			t.Errorf("%s: outcome %s, rtt %v: want open with an RTT", r.Target, r.Outcome, r.RTTMs)
			continue
		}
		w := probeOnWire(fs, r.SourcePort, r.ISS)
		if len(w.syns) == 0 || w.synack.IsZero() || w.rst.IsZero() {
			t.Errorf("%s port %d: the capture lacks its SYN (%d), SYN-ACK (%v) or RST (%v)", r.Target, r.SourcePort, len(w.syns), w.synack, w.rst)
			continue
		}
		errs, off, ok := checkAttempts(t, r, w)
		if !ok {
			continue
		}
		sent, late = append(sent, errs...), append(late, off...)
		nsyn := 0
		for _, ev := range r.Events {
			if ev.Dir != "sent" {
				continue
			}
			at := r.Started.Add(durMs(ev.AtMs))
			var want time.Time
			switch ev.Kind {
			case "SYN":
				if nsyn < len(w.syns) {
					want = w.syns[nsyn]
				}
				nsyn++
			case "RST":
				want = w.rst
			default:
				continue
			}
			// at_ms has microsecond resolution: allow it.
			d, ok := near(at, want, clockTolerance+time.Microsecond)
			sent = append(sent, d)
			if !ok {
				latef("%s port %d: sent %s event at %v, its frame left at %v: off by %v", r.Target, r.SourcePort, ev.Kind, at, want, d)
			}
		}
		wireRTT := w.synack.Sub(w.syns[len(w.syns)-1])
		d := durMs(*r.RTTMs) - wireRTT
		rtt = append(rtt, d)
		if d.Abs() > rttTolerance(wireRTT)+time.Microsecond {
			latef("%s port %d: rtt_ms %.3f, the wire's SYN → SYN-ACK %v: off by %v", r.Target, r.SourcePort, *r.RTTMs, wireRTT, d)
		}
	}
	return late, sent, rtt
}

// clockRounds bounds how often a clock test measures: on a loaded machine
// (or a virtual one whose CPU is taken away) the time between tcpdump's
// tap and the driver now and then exceeds the tolerance, and a round where
// that happened is measured again. A round whose median is off fails at
// once (systematic).
const clockRounds = 3

// measureClocks runs round until one has no time off by more than the
// tolerance, at most clockRounds times, and fails the test if none had.
func measureClocks(t *testing.T, round func() (late []string)) {
	t.Helper()
	for i := 1; i <= clockRounds; i++ {
		late := round()
		if len(late) == 0 || t.Failed() {
			return
		}
		t.Logf("round %d: %d times off by more than the tolerance, first: %s", i, len(late), late[0])
		if i == clockRounds {
			t.Errorf("in each of %d rounds some times were off by more than the tolerance:\n%s", clockRounds, strings.Join(late, "\n"))
		}
	}
}

// systematic fails the test when the median error of a round's sent
// events and RTTs is beyond the tolerance: that is no passing stall of the
// machine, and measuring again would hide it.
func systematic(t *testing.T, sent, rtt []time.Duration) {
	t.Helper()
	all := slices.Concat(sent, rtt)
	if len(all) == 0 {
		return
	}
	for i, d := range all {
		all[i] = d.Abs()
	}
	slices.Sort(all)
	if m := all[len(all)/2]; m > clockTolerance {
		t.Errorf("the median time is %v off the wire's (sent events %s; rtt %s)", m, summary(sent), summary(rtt))
	}
}

// onWire reports whether fs hold every frame checkClocks needs of res:
// each probe's SYNs, its SYN-ACK and both RSTs (the client kernel's and
// tcpprobe's teardown).
func onWire(res []clockResult) func([]wireFrame) bool {
	return func(fs []wireFrame) bool {
		for _, r := range res {
			w := probeOnWire(fs, r.SourcePort, r.ISS)
			if len(w.syns) < len(r.Attempts) || w.synack.IsZero() || w.rsts < 2 {
				return false
			}
		}
		return true
	}
}

// summary says how large the errors ds are: count, median and largest
// absolute value, and the signed median (positive: tcpprobe's time later).
func summary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	a := make([]time.Duration, len(ds))
	s := slices.Clone(ds)
	for i, d := range ds {
		a[i] = d.Abs()
	}
	slices.Sort(a)
	slices.Sort(s)
	return fmt.Sprintf("n=%d |error| median %v max %v (signed median %v)", len(a), a[len(a)/2], a[len(a)-1], s[len(s)/2])
}

// TestClockAccuracy: tcpprobe -c 10 on the plain path and on the delayed
// one, tcpdump beside it: each rtt_ms within 50 µs (or 2 %) of the wire's
// SYN → SYN-ACK, each sent event within 50 µs of its frame. Like every
// clock test it does not run in parallel: it measures microseconds, and
// the other lab tests' load lengthens the time between tcpdump's tap and
// the driver.
func TestClockAccuracy(t *testing.T) {
	l := labtest.New(t)
	for _, tc := range []struct {
		name string
		port uint16
	}{
		{"plain", lab.PortOpen},
		{"delayed", lab.PortDelay},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := netip.AddrPortFrom(lab.ServerV4, tc.port).String()
			measureClocks(t, func() []string {
				res, fs := clockRunCaptured(t, l, fmt.Sprintf("tcp port %d", tc.port), 24, 50*time.Millisecond, "--schedule", "0,1s/3s", target)
				if len(res) < 10 {
					return []string{fmt.Sprintf("%d rounds began after the capture, want 10", len(res))}
				}
				res = res[:10]
				late, sent, rtt := checkClocks(t, res, fs)
				systematic(t, sent, rtt)
				t.Logf("%s: sent events vs frames: %s; rtt_ms vs wire: %s", tc.name, summary(sent), summary(rtt))
				return late
			})
		})
	}
}

// TestClockFirstSYNDropped: the router drops the first SYN, the second is
// answered: the answered attempt is 2, the connect time runs from the
// first SYN to the SYN-ACK, the RTT from the second SYN. Not parallel (see
// TestClockAccuracy).
func TestClockFirstSYNDropped(t *testing.T) {
	l := labtest.New(t)
	target := netip.AddrPortFrom(lab.ServerV4, lab.PortDropFirst1).String()
	var r clockResult
	var fs []wireFrame
	measureClocks(t, func() []string {
		var res []clockResult
		res, fs = clockRunCaptured(t, l, fmt.Sprintf("tcp port %d", lab.PortDropFirst1), 5, 300*time.Millisecond, "--schedule", "0,300ms/3s", target)
		if len(res) == 0 {
			return []string{"no round began after the capture"}
		}
		res = res[:1]
		r = res[0]
		late, sent, rtt := checkClocks(t, res, fs)
		systematic(t, sent, rtt)
		t.Logf("sent events vs frames: %s; rtt_ms vs wire: %s", summary(sent), summary(rtt))
		return late
	})
	w := probeOnWire(fs, r.SourcePort, r.ISS)
	if len(w.syns) != 2 || w.synack.IsZero() {
		t.Fatalf("wire: %d SYNs and SYN-ACK %v, want 2 SYNs and an answer", len(w.syns), w.synack)
	}
	if r.AnsweredAttempt == nil || r.ConnectMs == nil {
		t.Fatalf("answered_attempt / connect_ms missing from the result")
	}
	if *r.AnsweredAttempt != 2 {
		t.Errorf("answered_attempt %d, want 2", *r.AnsweredAttempt)
	}
	wireConnect := w.synack.Sub(w.syns[0])
	if d := durMs(*r.ConnectMs) - wireConnect; d.Abs() > rttTolerance(wireConnect)+time.Microsecond {
		t.Errorf("connect_ms %.3f, the wire's first SYN → SYN-ACK %v: off by %v", *r.ConnectMs, wireConnect, d)
	}
}

// TestClockSweep: a round of 1,103 probes (the open port, ports
// 1000–2100, closed, and a port whose first SYN the router drops), big
// enough for a ring link, whose send times come from its transmit tap;
// the other clock tests' single probes read the socket queue, and theirs
// come from the error queue. Each SYN's attempt time within 50 µs of its
// frame (frames leave a sendmmsg batch up to milliseconds apart on veth),
// the open port's clocks as in TestClockAccuracy, and the retransmission
// at least the schedule's 1 s after the first SYN on the wire. Not
// parallel (see TestClockAccuracy).
func TestClockSweep(t *testing.T) {
	l := labtest.New(t)
	// tcpprobe reads its targets after dropping privilege.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	targets := filepath.Join(dir, "targets")
	// Last, a port whose first SYN the router drops: that SYN leaves at
	// the end of a batch, its retransmission alone.
	dropFirst := netip.AddrPortFrom(lab.ServerV4, lab.PortDropFirst1)
	list := fmt.Sprintf("%s\n%s 1000-2100 expect=closed\n%s\n", netip.AddrPortFrom(lab.ServerV4, lab.PortOpen), lab.ServerV4, dropFirst)
	if err := os.WriteFile(targets, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	measureClocks(t, func() []string {
		res, fs := clockRunCapturedUntil(t, l, "tcp", 3, 500*time.Millisecond, sweepOnWire,
			"--schedule", "0,1s/3s", "-f", targets)
		var open, closed []clockResult
		for _, r := range res {
			if strings.HasSuffix(r.Target, fmt.Sprintf(":%d", lab.PortOpen)) {
				open = append(open, r)
			} else {
				closed = append(closed, r)
			}
		}
		if len(open) == 0 || len(closed) < 1000 {
			return []string{fmt.Sprintf("%d open and %d closed results began after the capture, want a round's", len(open), len(closed))}
		}
		late, sent, rtt := checkClocks(t, open, fs)
		syns := checkSYNClocks(t, closed, fs, &late)
		checkRetransmitGap(t, closed, dropFirst.String(), fs, time.Second)
		systematic(t, slices.Concat(sent, syns), rtt)
		t.Logf("open: sent events vs frames: %s; rtt_ms vs wire: %s; closed: attempts vs SYNs: %s", summary(sent), summary(rtt), summary(syns))
		return late
	})
}

// checkRetransmitGap fails the test unless some result of target in res
// has a second SYN on the wire (the router dropped its first), and every
// such second SYN left at least gap after its first: the schedule runs
// from the first SYN's departure, however late in its batch it left.
func checkRetransmitGap(t *testing.T, res []clockResult, target string, fs []wireFrame, gap time.Duration) {
	t.Helper()
	seen := 0
	for _, r := range res {
		if r.Target != target {
			continue
		}
		w := probeOnWire(fs, r.SourcePort, r.ISS)
		if len(w.syns) < 2 {
			continue
		}
		seen++
		if d := w.syns[1].Sub(w.syns[0]); d < gap {
			t.Errorf("%s (port %d): the second SYN left %v after the first on the wire, want at least the schedule's %v", target, r.SourcePort, d, gap)
		}
	}
	if seen == 0 {
		t.Errorf("%s: no result with a retransmitted SYN on the wire, so the schedule's gap went unchecked", target)
	}
}

// sweepOnWire reports whether fs hold every SYN of res, and the open
// results' SYN-ACK and RSTs.
func sweepOnWire(res []clockResult) func([]wireFrame) bool {
	return func(fs []wireFrame) bool {
		type key struct {
			sport uint16
			seq   uint32
		}
		syns := map[key]int{}
		for _, f := range fs {
			if f.Flags == flSYN {
				syns[key{f.SrcPort, f.Seq}]++
			}
		}
		for _, r := range res {
			if syns[key{r.SourcePort, r.ISS}] < len(r.Attempts) {
				return false
			}
			if r.Outcome == "open" && !onWire([]clockResult{r})(fs) {
				return false
			}
		}
		return true
	}
}

// checkSYNClocks compares each attempt of res with its SYN on the wire; a
// time off by more than clockTolerance goes to late. It returns the errors.
func checkSYNClocks(t *testing.T, res []clockResult, fs []wireFrame, late *[]string) []time.Duration {
	t.Helper()
	var all []time.Duration
	for _, r := range res {
		errs, off, _ := checkAttempts(t, r, probeOnWire(fs, r.SourcePort, r.ISS))
		all, *late = append(all, errs...), append(*late, off...)
	}
	return all
}

// checkAttempts compares each attempt of r with its SYN in w: the errors,
// and a line for each off by more than clockTolerance. It reports false
// (and fails the test) when their numbers differ.
func checkAttempts(t *testing.T, r clockResult, w wireOf) (errs []time.Duration, late []string, ok bool) {
	t.Helper()
	if len(r.Attempts) != len(w.syns) {
		t.Errorf("%s port %d: %d attempts, %d SYNs on the wire", r.Target, r.SourcePort, len(r.Attempts), len(w.syns))
		return nil, nil, false
	}
	for i, a := range r.Attempts {
		d, near := near(a.Time, w.syns[i], clockTolerance)
		errs = append(errs, d)
		if !near {
			late = append(late, fmt.Sprintf("%s port %d: attempt %d at %v, its SYN left at %v: off by %v", r.Target, r.SourcePort, i+1, a.Time, w.syns[i], d))
		}
	}
	return errs, late, true
}
