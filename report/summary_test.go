package report

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
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
			var r rtts
			for _, d := range tt.in {
				r.add(d)
			}
			if diff := cmp.Diff(tt.want, r.stats()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestSummarizer: answered is any reply that decided, loss is what no
// reply decided among the probes sent, and a name probed at two
// addresses has a summary per address.
func TestSummarizer(t *testing.T) {
	var z Summarizer
	z.Add(result("a:80", probe.Open, 0, time.Millisecond, ""))
	z.Add(result("a:80", probe.Timeout, syscall.ETIMEDOUT, 0, ""))
	z.Add(result("a:80", probe.Open, 0, 3*time.Millisecond, ""))
	z.Add(result("a:80", probe.Refused, syscall.ECONNREFUSED, 5*time.Millisecond, ""))
	soft := result("a:80", probe.Unreachable, syscall.EHOSTUNREACH, 7*time.Millisecond, "")
	soft.Soft = true
	z.Add(soft)
	z.Add(result("a:80", probe.LocalError, syscall.ENETUNREACH, 0, ""))
	other := result("a:80", probe.Refused, syscall.ECONNREFUSED, 2*time.Millisecond, "closed")
	other.Addr = netip.MustParseAddr("fd00::2")
	z.Add(other)
	want := []Summary{
		{Type: "summary", Target: "a:80", Address: "198.18.2.2", Port: 80, Probes: 6, Sent: 5, Answered: 4, Open: 2, LossPct: 20,
			Outcomes: map[string]int{"open": 2, "timeout": 1, "refused": 1, "unreachable": 1, "local-error": 1}, Met: 2,
			RTT: &RTTStats{1, 2, 3, 1}, RTTAnswered: &RTTStats{1, 3, 5, 1.633}},
		{Type: "summary", Target: "a:80", Address: "fd00::2", Port: 80, Probes: 1, Sent: 1, Answered: 1, LossPct: 0,
			Outcomes: map[string]int{"refused": 1}, Met: 1, RTTAnswered: &RTTStats{2, 2, 2, 0}},
	}
	if diff := cmp.Diff(want, z.Summaries()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	var text bytes.Buffer
	if err := NewText(&text, false).Summarize(z.Summaries()); err != nil {
		t.Fatal(err)
	}
	wantText := `--- a:80 (198.18.2.2) ---
5 probes sent, 4 answered, 20.0% loss (local-error 1, open 2, refused 1, timeout 1, unreachable 1)
rtt min/avg/max/stddev = 1.000/3.000/5.000/1.633 ms
open rtt min/avg/max/stddev = 1.000/2.000/3.000/1.000 ms
--- a:80 (fd00::2) ---
1 probes sent, 1 answered, 0.0% loss (refused 1)
rtt min/avg/max/stddev = 2.000/2.000/2.000/0.000 ms
`
	if diff := cmp.Diff(wantText, text.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}

	// NDJSON: the results, then one summary object per target and
	// address.
	var nd bytes.Buffer
	w := NewNDJSON(&nd)
	w.Write(Entry{Result: other, Seq: 1})
	if err := w.Summarize(z.Summaries()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(nd.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), nd.String())
	}
	for i, l := range lines[1:] {
		var s Summary
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[i], s); diff != "" || !strings.HasPrefix(l, `{"type":"summary",`) {
			t.Errorf("line %d %s (-want +got):\n%s", i+2, l, diff)
		}
	}
}

// TestAddrNote: a line names the address its target was probed at unless
// the target already says it.
func TestAddrNote(t *testing.T) {
	tests := []struct {
		target, addr, want string
	}{
		{"mixed:80", "198.18.32.2", "mixed:80 (198.18.32.2)"},
		{"198.18.2.2:80", "198.18.2.2", "198.18.2.2:80"},
		{"198.18.2.20:80", "198.18.2.2", "198.18.2.20:80 (198.18.2.2)"},
		{"[fd00::2]:80", "fd00::2", "[fd00::2]:80"},
		{"[fd00:0::2]:80", "fd00::2", "[fd00:0::2]:80 (fd00::2)"},
		{"[fe80::1%eth0]:80", "fe80::1%eth0", "[fe80::1%eth0]:80"},
		{"v6name:443", "fd00::2", "v6name:443 (fd00::2)"},
	}
	for _, tt := range tests {
		got := string(appendAddrNote([]byte(tt.target), tt.target, netip.MustParseAddr(tt.addr)))
		if got != tt.want {
			t.Errorf("%s at %s: %q, want %q", tt.target, tt.addr, got, tt.want)
		}
	}
	r := result("mixed:80", probe.Timeout, syscall.ETIMEDOUT, 0, "")
	if got := Line(r); !strings.HasPrefix(got, "mixed:80 (198.18.2.2) timeout ETIMEDOUT after") {
		t.Errorf("Line = %q", got)
	}
}
