package report

import (
	"bytes"
	"encoding/xml"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/probe"
)

func result(target string, o probe.Outcome, errno syscall.Errno, rtt time.Duration, expect string) *probe.Result {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &probe.Result{Target: target, Addr: netip.MustParseAddr("198.18.2.2"), Port: 80, Outcome: o, Errno: errno,
		Reason: "x", RTT: rtt, Started: start, Finished: start.Add(rtt), Expect: expect}
}

func TestMet(t *testing.T) {
	tests := []struct {
		outcome probe.Outcome
		expect  string
		want    bool
	}{
		{probe.Open, "", true},
		{probe.Refused, "", false},
		{probe.Refused, "closed", true},
		{probe.Open, "closed", false},
		{probe.LocalError, "unreachable", true},
		{probe.Timeout, "timeout", true},
		{probe.Timeout, "refused", false},
		{probe.Interrupted, "closed", false},
	}
	for _, tt := range tests {
		if got := Met(result("t", tt.outcome, 0, 0, tt.expect)); got != tt.want {
			t.Errorf("Met(%s, expect %q) = %v, want %v", tt.outcome, tt.expect, got, tt.want)
		}
	}
}

func TestJUnitRoundTrip(t *testing.T) {
	var b bytes.Buffer
	w := NewJUnit(&b)
	w.Write(Entry{Result: result("ok:80", probe.Open, 0, time.Millisecond, "")})
	w.Write(Entry{Result: result("db:5432", probe.Open, 0, time.Millisecond, "refused"), Seq: 2})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var doc JUnitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.Bytes())
	}
	c := doc.Suites[0].Cases
	if doc.Tests != 2 || doc.Failures != 1 || len(c) != 2 || c[0].Failure != nil || c[1].Failure == nil ||
		c[1].Name != "db:5432 (198.18.2.2:80) #2" || c[1].Failure.Message != "expected refused, got open (x)" {
		t.Errorf("parsed back: %+v", doc)
	}
}

// TestLine pins the text line of every outcome branch.
func TestLine(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := netip.MustParseAddr("198.18.2.2")
	rtr := netip.MustParseAddr("198.18.1.1")
	tests := []struct {
		name string
		r    probe.Result
		want string
	}{
		{"open", probe.Result{Target: "198.18.2.2:80", Outcome: probe.Open, RTT: 493 * time.Microsecond, Responder: srv},
			"198.18.2.2:80 open rtt=0.493ms from 198.18.2.2"},
		{"open on the second SYN", probe.Result{Target: "198.18.2.2:80", Outcome: probe.Open, RTT: 90 * time.Microsecond, Connect: 1012 * time.Millisecond,
			AnsweredAttempt: 2, AnsweredBy: probe.AnsweredByTSecr, Responder: srv},
			"198.18.2.2:80 open connect=1.012s rtt=0.090ms (answered SYN 2) from 198.18.2.2"},
		{"refused on the third SYN", probe.Result{Target: "x:1", Outcome: probe.Refused, Errno: syscall.ECONNREFUSED, Reason: "rst", Responder: srv,
			RTT: time.Millisecond, Connect: 3001 * time.Millisecond, AnsweredAttempt: 3, AnsweredBy: probe.AnsweredByLastSYN},
			"x:1 refused ECONNREFUSED (rst from 198.18.2.2) connect=3.001s rtt=1.00ms (answered SYN 3)"},
		{"open slow, expectation met", probe.Result{Target: "h:443", Outcome: probe.Open, RTT: 12345 * time.Microsecond, Responder: srv, Expect: "open"},
			"h:443 open rtt=12.35ms from 198.18.2.2 [expect open: ok]"},
		{"refused", probe.Result{Target: "198.18.2.2:81", Outcome: probe.Refused, Errno: syscall.ECONNREFUSED, Reason: "rst", Responder: srv, RTT: 1500 * time.Microsecond},
			"198.18.2.2:81 refused ECONNREFUSED (rst from 198.18.2.2) rtt=1.50ms"},
		{"refused, expectation failed", probe.Result{Target: "x:1", Outcome: probe.Refused, Errno: syscall.ECONNREFUSED, Reason: "rst", Responder: srv, RTT: 2 * time.Second, Expect: "open"},
			"x:1 refused ECONNREFUSED (rst from 198.18.2.2) rtt=2.000s [expect open: FAILED]"},
		{"timeout", probe.Result{Target: "x:87", Outcome: probe.Timeout, Errno: syscall.ETIMEDOUT, Started: start, Finished: start.Add(75 * time.Second), Attempts: make([]time.Time, 3)},
			"x:87 timeout ETIMEDOUT after 75.000s, 3 SYNs unanswered"},
		{"soft unreachable", probe.Result{Target: "x:82", Outcome: probe.Unreachable, Errno: syscall.EHOSTUNREACH, Soft: true, Reason: "icmp-host-unreachable", Responder: rtr, Started: start, Finished: start.Add(75 * time.Second)},
			"x:82 unreachable EHOSTUNREACH (icmp-host-unreachable from 198.18.1.1, soft: reported at the deadline after 75.000s)"},
		{"local error", probe.Result{Target: "x:9", Outcome: probe.LocalError, Errno: syscall.ENETUNREACH, Reason: "no-route"},
			"x:9 local-error ENETUNREACH (no-route; nothing sent)"},
		{"interrupted", probe.Result{Target: "x:9", Outcome: probe.Interrupted, Errno: syscall.EINTR},
			"x:9 interrupted"},
		{"no responder", probe.Result{Target: "x:9", Outcome: probe.Unreachable, Errno: syscall.EHOSTUNREACH, Reason: "neighbor"},
			"x:9 unreachable EHOSTUNREACH (neighbor) rtt=0.000ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line(&tt.r); got != tt.want {
				t.Errorf("Line:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestLineUnsent: a next hop that never answered shows the solicitations
// that did leave, not "nothing sent".
func TestLineUnsent(t *testing.T) {
	at := time.Unix(1000, 0)
	arp := func(d time.Duration) probe.Event {
		return probe.Event{Time: at.Add(d), Dir: probe.Sent, Reason: probe.ReasonARPRequest, Effect: probe.EffectIgnored, Why: probe.WhyUnanswered}
	}
	tests := []struct {
		name string
		r    probe.Result
		want string
	}{
		{"neighbour failure", probe.Result{Target: "x:80", Outcome: probe.LocalError, Errno: syscall.EHOSTUNREACH, Reason: probe.ReasonNeighbor,
			Events: []probe.Event{arp(0), arp(time.Second), arp(2 * time.Second)}, Started: at, Finished: at.Add(3 * time.Second)},
			"x:80 local-error EHOSTUNREACH (neighbor-unreachable; 3 ARP requests unanswered, no SYN sent)"},
		{"cut by --timeout", probe.Result{Target: "x:80", Outcome: probe.Timeout, Errno: syscall.ETIMEDOUT, Reason: probe.ReasonNeighborTimeout,
			Events: []probe.Event{arp(0)}, Started: at, Finished: at.Add(time.Second)},
			"x:80 timeout ETIMEDOUT after 1.000s (neighbor-timeout: 1 ARP request unanswered, no SYN sent)"},
		{"route", probe.Result{Target: "x:80", Outcome: probe.LocalError, Errno: syscall.EACCES, Reason: probe.ReasonRouteProhibit, Started: at, Finished: at},
			"x:80 local-error EACCES (route-prohibit; nothing sent)"},
	}
	for _, tt := range tests {
		if got := Line(&tt.r); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}
