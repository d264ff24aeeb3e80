package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/docs/schema"
	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/report"
)

// Issue 12's "say what it knows and nothing it does not": connect mode's
// reasons, responders and SYN counts; --timeout bounding a next hop's
// resolution; --source checked before anything is sent.

// TestConnectModeSaysWhatItKnows: --mode connect gives the ICMP message and
// its sender where the kernel queued one, the RST's sender otherwise, the
// raw mode's class for a neighbour failure (local-error), no responder for
// a timeout, and the SYN count TCP_INFO gives.
func TestConnectModeSaysWhatItKnows(t *testing.T) {
	t.Parallel()
	l := labtest.New(t)
	if err := l.FlushNeighbors(); err != nil {
		t.Fatal(err)
	}
	closed := ap(lab.ServerV4, lab.PortClosed).String()
	rejectPort := ap(lab.ServerV4, lab.PortRejectPort).String()
	rejectHost := ap(lab.ServerV4, lab.PortRejectHost).String()
	neighFail := ap(lab.NeighFailClientV4, 80).String()
	dropFirst := ap(lab.ServerV4, lab.PortDropFirst1).String()
	silent := ap(lab.ServerV4, lab.PortDrop).String()
	r := tcpprobe(t, l, 30*time.Second, "--json", "--mode", "connect", "--profile", "linux", "--timeout", "4500ms",
		closed, rejectPort, rejectHost, neighFail, dropFirst, silent)
	var doc report.Document
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("not a JSON document (%v)\nstdout %s\nstderr %s", err, r.stdout, r.stderr)
	}
	type row struct {
		Outcome, Errno, Reason, Responder string
		SYNs                              int
	}
	got := map[string]row{}
	for _, res := range doc.Results {
		got[res.Target] = row{res.Outcome, res.Errno, res.Reason, res.Responder, len(res.Attempts)}
	}
	router, server := lab.RouterV4C.String(), lab.ServerV4.String()
	want := map[string]row{
		closed:     {"refused", "ECONNREFUSED", "rst", server, 1},
		rejectPort: {"refused", "ECONNREFUSED", "icmp-port-unreachable", router, 1},
		rejectHost: {"unreachable", "EHOSTUNREACH", "icmp-host-unreachable", router, 1},
		neighFail:  {"local-error", "EHOSTUNREACH", "neighbor-unreachable", "", 0},
		dropFirst:  {"open", "", "syn-ack", server, 2},
		// The kernel's SYNs at 0, 1, 2, 3 and 4 s before --timeout.
		silent: {"timeout", "ETIMEDOUT", "timeout", "", 5},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("connect mode (-want +got):\n%s\nstderr: %s", diff, r.stderr)
	}
	if r.stderr != "" {
		t.Errorf("--profile linux in connect mode: stderr %q, want no notice (the kernel follows it)", r.stderr)
	}
	if err := schema.Validate([]byte(r.stdout)); err != nil {
		t.Errorf("connect-mode output does not match the schema: %v", err)
	}

	// The default profile's schedule and ICMP policy are not the kernel's:
	// a notice says so, once.
	r = tcpprobe(t, l, 10*time.Second, "--mode", "connect", "-c", "2", "--interval", "50ms", "--timeout", "10s", closed)
	for _, w := range []string{"notice: --mode connect: the SYN offsets", "notice: --mode connect: the ICMP policy rfc1122"} {
		if strings.Count(r.stderr, w) != 1 {
			t.Errorf("classic in connect mode: stderr %q, want %q once", r.stderr, w)
		}
	}
}

// TestTimeoutBoundsNeighbor: --timeout cuts an unanswered ARP resolution
// like a connect timeout (a timeout, the requests sent so far listed); a
// resolution that runs to its end is a local error listing all three.
func TestTimeoutBoundsNeighbor(t *testing.T) {
	t.Parallel()
	l := labtest.New(t)
	if err := l.FlushNeighbors(); err != nil {
		t.Fatal(err)
	}
	target := ap(lab.NeighFailClientV4, 80).String()
	for _, tc := range []struct {
		name       string
		timeout    string
		outcome    string
		reason     string
		requests   int
		minT, maxT time.Duration
	}{
		{"cut by --timeout", "1s", "timeout", "neighbor-timeout", 1, 900 * time.Millisecond, 1500 * time.Millisecond},
		{"every request unanswered", "10s", "local-error", "neighbor-unreachable", 3, 2900 * time.Millisecond, 3600 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, r := probeJSON(t, l, 20*time.Second, "--timeout", tc.timeout, target)
			res := got[target]
			if res == nil {
				t.Fatalf("no result\nstderr: %s", r.stderr)
			}
			if err := schema.Validate([]byte(r.stdout)); err != nil {
				t.Errorf("output with ARP requests in the timeline does not match the schema: %v", err)
			}
			if res.Outcome != tc.outcome || res.Reason != tc.reason {
				t.Errorf("%s %s (%s), want %s (%s)", res.Outcome, res.Errno, res.Reason, tc.outcome, tc.reason)
			}
			var at []float64
			for _, ev := range res.Events {
				if ev.Dir == "sent" && ev.Reason == "arp-request" && ev.Why == "unanswered" {
					at = append(at, ev.AtMs)
				}
			}
			if len(at) != tc.requests || len(res.Attempts) != 0 {
				t.Errorf("unanswered ARP requests at %v ms and %d SYNs in the result, want %d and none", at, len(res.Attempts), tc.requests)
			}
			if dur := durMs(res.DurationMs); dur < tc.minT || dur > tc.maxT || r.took > tc.maxT+time.Second {
				t.Errorf("the probe took %v (the process %v), want %v to %v", dur, r.took, tc.minT, tc.maxT)
			}
			text := tcpprobe(t, l, 20*time.Second, "--timeout", tc.timeout, target)
			if !strings.Contains(text.stdout, "ARP request") || strings.Contains(text.stdout, "nothing sent") {
				t.Errorf("text line %q: want the ARP requests, not \"nothing sent\"", text.stdout)
			}
		})
	}
}

// TestSourceChecked: --source must be this host's and of the target's
// family, else exit 2 before anything is sent.
func TestSourceChecked(t *testing.T) {
	t.Parallel()
	l := labtest.New(t)
	for _, tc := range []struct {
		name string
		args []string
		exit int
		want string
	}{
		{"not local", []string{"--source", "198.18.9.9", ap(lab.ServerV4, lab.PortOpen).String()}, 2, "not an address of this host"},
		{"v4 source, v6 target", []string{"--source", lab.ClientV4.String(), ap(lab.ServerV6, lab.PortOpen).String()}, 2, "is IPv4 but target"},
		{"local, same family", []string{"--source", lab.ClientV4.String(), ap(lab.ServerV4, lab.PortOpen).String()}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tcpprobe(t, l, 10*time.Second, append([]string{"--timeout", "1s"}, tc.args...)...)
			if r.exit != tc.exit || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.exit, r.stderr, tc.exit, tc.want)
			}
		})
	}
}
