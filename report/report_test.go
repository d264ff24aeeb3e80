package report

import (
	"bytes"
	"encoding/xml"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/probe"
)

func TestRTTStats(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		in   []time.Duration
		want *RTTStats
	}{
		{"none", nil, nil},
		{"one", []time.Duration{2 * ms}, &RTTStats{2, 2, 2, 0}},
		{"ping's example", []time.Duration{1 * ms, 2 * ms, 3 * ms, 4 * ms}, &RTTStats{1, 2.5, 4, 1.118}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, rttStats(tt.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func result(target string, o probe.Outcome, errno syscall.Errno, rtt time.Duration, expect string) *probe.Result {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &probe.Result{Target: target, Addr: netip.MustParseAddr("198.18.2.2"), Port: 80, Outcome: o, Errno: errno,
		Reason: "x", RTT: rtt, Started: start, Finished: start.Add(rtt), Expect: expect}
}

func TestSummarizer(t *testing.T) {
	var z Summarizer
	z.Add(result("a:80", probe.Open, 0, time.Millisecond, ""))
	z.Add(result("a:80", probe.Timeout, syscall.ETIMEDOUT, 0, ""))
	z.Add(result("a:80", probe.Open, 0, 3*time.Millisecond, ""))
	z.Add(result("a:80", probe.Refused, syscall.ECONNREFUSED, time.Millisecond, ""))
	want := []Summary{{Target: "a:80", Address: "198.18.2.2", Port: 80, Sent: 4, Open: 2, LossPct: 50,
		Outcomes: map[string]int{"open": 2, "timeout": 1, "refused": 1}, Met: 2, RTT: &RTTStats{1, 2, 3, 1}}}
	if diff := cmp.Diff(want, z.Summaries()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
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
