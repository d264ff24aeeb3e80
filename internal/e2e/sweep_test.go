package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/report"
)

// TestSweepAllPorts sweeps every port of the lab server at the fastest
// rate and checks each port's outcome against the lab's plan: listeners
// open (88 and 89 only after their first SYNs were dropped, 90 after the
// delay), the REJECT/DROP ports as the classic profile reports them, every
// other port refused. Not one may be wrong.
func TestSweepAllPorts(t *testing.T) {
	l := labtest.New(t)
	want := func(port uint16) string {
		switch port {
		case lab.PortOpen, lab.PortDropFirst1, lab.PortDropFirst2, lab.PortDelay:
			return "open"
		case lab.PortRejectAdmin, lab.PortRejectHost, lab.PortRejectNet:
			return "unreachable" // soft under classic: reported at the deadline
		case lab.PortDrop:
			return "timeout"
		}
		return "refused" // RST from the server, REJECT tcp-reset, ICMP port unreachable
	}
	r := tcpprobe(t, l, 60*time.Second, "--rate", "max", "--ndjson", "--schedule", "0,300ms,600ms/1500ms", "-p", "1-65535", lab.ServerV4.String())
	t.Logf("swept 65535 ports in %v", r.took)
	got := map[uint16]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var res report.Result
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			t.Fatalf("output line is not a JSON result (%v): %.200s\nstderr: %s", err, line, r.stderr)
		}
		if _, dup := got[res.Port]; dup {
			t.Errorf("port %d reported twice", res.Port)
		}
		got[res.Port] = res.Outcome
		for _, ev := range res.Events {
			if strings.HasPrefix(ev.Why, "receive-drops") {
				t.Errorf("port %d: the kernel dropped replies during the sweep: %s", res.Port, ev.Why)
			}
		}
	}
	var wrong []string
	for p := 1; p <= 65535; p++ {
		if g, w := got[uint16(p)], want(uint16(p)); g != w {
			wrong = append(wrong, fmt.Sprintf("%d: %s", p, cmp.Diff(w, g)))
		}
	}
	if len(wrong) > 0 {
		t.Errorf("%d of 65535 ports wrong (-want +got), first ones:\n%s\nstderr: %s", len(wrong), strings.Join(wrong[:min(10, len(wrong))], "\n"), r.stderr)
	}
}
