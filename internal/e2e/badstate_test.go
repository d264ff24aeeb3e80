package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/report"
)

// badState is one change to the client's local state made while a probe
// waits.
type badState struct {
	name   string
	port   uint16
	change [][]string // commands run in the client namespace mid-probe
}

// probeWhile runs tcpprobe --json against the server's port with sched and
// runs change in the client namespace after `after`.
func probeWhile(t *testing.T, l *lab.Lab, port uint16, sched string, after time.Duration, change [][]string) (*report.Result, run) {
	t.Helper()
	target := fmt.Sprintf("%s:%d", lab.ServerV4, port)
	errc := make(chan error, 1)
	go func() {
		time.Sleep(after)
		for _, c := range change {
			if out, err := l.Exec(l.Client, c...); err != nil {
				errc <- fmt.Errorf("%s: %v\n%s", strings.Join(c, " "), err, out)
				return
			}
		}
		errc <- nil
	}()
	res, r := probeJSON(t, l, 10*time.Second, "--schedule", sched, target)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	got := res[target]
	if got == nil {
		t.Fatalf("no result for %s\nstdout: %s\nstderr: %s", target, r.stdout, r.stderr)
	}
	return got, r
}

// TestBadLocalState changes the client's own state while tcpprobe waits
// (issue 6, "Bad local state") and checks it never hangs, never panics and
// says what happened:
//
//   - link-down: c0 goes down; each later SYN fails to leave and is listed
//     as ignored with why "send-failed: … network is down"; the probe ends at
//     its give-up time as a timeout. (The kernel's connect() is also still
//     waiting then: its retransmissions fail silently the same way.) Only
//     the first SYN left, so attempts holds one.
//   - link-flap: c0 goes down and up again (and its route is put back);
//     the link's read fails once (ENETDOWN) and the Prober reads on, so the
//     retransmission's SYN-ACK is caught and the probe is "open".
//   - route-unreachable, route-deleted: tcpprobe asks the kernel for the
//     route again before each retransmission, as the kernel's own
//     retransmission does; with the route gone the SYNs do not leave (each
//     listed as send-failed with the route's error) and the probe times
//     out under the default (classic) profile, whose 4.4BSD timer drops
//     the error; --profile linux reports the route's errno at the
//     give-up, as the kernel's connect() does (TestRouteLostMatchesKernel).
//   - neigh-flush: the client's neighbour entries vanish; the next-hop MAC
//     resolved at the start is still right, so the retransmission is
//     answered and the probe is "open", as connect() would be.
func TestBadLocalState(t *testing.T) {
	type verdict struct {
		Outcome, Errno, Reason string
		Attempts               int
		SendFailed             bool
	}
	tests := []struct {
		badState
		want verdict
	}{
		{badState{"link-down", lab.PortDrop, [][]string{{"ip", "link", "set", lab.ClientIf, "down"}}},
			verdict{"timeout", "ETIMEDOUT", "timeout", 1, true}},
		{badState{"link-flap", lab.PortDropFirst1, [][]string{
			{"ip", "link", "set", lab.ClientIf, "down"}, {"ip", "link", "set", lab.ClientIf, "up"},
			// Down took the routes through c0 with it; an administrator
			// would put them back.
			{"ip", "route", "replace", "198.18.2.0/24", "via", lab.RouterV4C.String(), "dev", lab.ClientIf},
		}},
			verdict{"open", "", "syn-ack", 2, false}},
		{badState{"route-unreachable", lab.PortDropFirst1, [][]string{{"ip", "route", "replace", "unreachable", "198.18.2.0/24"}}},
			verdict{"timeout", "ETIMEDOUT", "timeout", 1, true}},
		{badState{"route-deleted", lab.PortDropFirst1, [][]string{{"ip", "route", "del", "198.18.2.0/24"}}},
			verdict{"timeout", "ETIMEDOUT", "timeout", 1, true}},
		{badState{"neigh-flush", lab.PortDropFirst1, [][]string{{"ip", "neigh", "flush", "dev", lab.ClientIf}}},
			verdict{"open", "", "syn-ack", 2, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := labtest.New(t)
			got, r := probeWhile(t, l, tt.port, "0,1s,2s/3s", 300*time.Millisecond, tt.change)
			v := verdict{Outcome: got.Outcome, Errno: got.Errno, Reason: got.Reason, Attempts: len(got.Attempts)}
			for _, e := range got.Events {
				if e.Effect == "ignored" && strings.HasPrefix(e.Why, "send-failed: ") {
					v.SendFailed = true
				}
			}
			if diff := cmp.Diff(tt.want, v); diff != "" {
				t.Errorf("(-want +got)\n%s\nevents: %+v\nstderr: %s", diff, got.Events, r.stderr)
			}
			if r.took > 5*time.Second {
				t.Errorf("tcpprobe took %v for a 3 s schedule", r.took)
			}
			if strings.Contains(r.stderr, "panic") {
				t.Errorf("stderr: %s", r.stderr)
			}
		})
	}
}
