package e2e

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
)

// TestClassicDefaultSchedule runs the real default: no profile or schedule
// flags, a target whose SYNs the router drops. The SYNs must cross the
// wire at 0, 6 and 30 s and the probe must end with ETIMEDOUT at 75 s.
func TestClassicDefaultSchedule(t *testing.T) {
	t.Parallel()
	l := labtest.New(t)
	target := netip.AddrPortFrom(lab.ServerV4, lab.PortDrop)
	// The router's client-side interface is the wire the SYNs cross.
	capt, err := l.Capture(l.Router, lab.RouterIfC, fmt.Sprintf("tcp dst port %d and (tcp[tcpflags] & tcp-syn) != 0", lab.PortDrop))
	if err != nil {
		t.Fatal(err)
	}
	got, r := probeJSON(t, l, 100*time.Second, target.String())
	pkts, err := capt.Stop()
	if err != nil {
		t.Fatal(err)
	}
	res := got[target.String()]
	if res == nil {
		t.Fatalf("no result; stderr: %s", r.stderr)
	}
	if res.Outcome != "timeout" || res.Errno != "ETIMEDOUT" || res.Profile != "classic" {
		t.Errorf("outcome %s errno %s profile %s, want timeout ETIMEDOUT classic", res.Outcome, res.Errno, res.Profile)
	}
	dur := time.Duration(res.DurationMs * float64(time.Millisecond))
	if dur < 75*time.Second || dur > 75*time.Second+500*time.Millisecond {
		t.Errorf("gave up after %v, want 75s", dur)
	}
	if r.took > 77*time.Second {
		t.Errorf("the process took %v for a 75 s probe", r.took)
	}
	want := []time.Duration{0, 6 * time.Second, 30 * time.Second}
	if len(res.Attempts) != len(want) {
		t.Fatalf("%d attempts recorded, want %d", len(res.Attempts), len(want))
	}
	for i, a := range res.Attempts {
		off := time.Duration(a.AtMs * float64(time.Millisecond))
		if d := off - want[i]; d < 0 || d > 100*time.Millisecond {
			t.Errorf("attempt %d recorded at %v, want %v", i, off, want[i])
		}
	}
	if len(pkts) != len(want) {
		t.Fatalf("%d SYNs seen on the wire, want %d:\n%v", len(pkts), len(want), pkts)
	}
	for i, p := range pkts {
		off := p.Time.Sub(pkts[0].Time)
		if d := off - want[i]; d < -100*time.Millisecond || d > 100*time.Millisecond {
			t.Errorf("SYN %d crossed the wire at +%v, want +%v", i, off, want[i])
		}
	}
}

// TestClassicRetransmissionOpens: the router drops the first SYN; the
// default schedule's second SYN, at 6 s, gets the SYN-ACK.
func TestClassicRetransmissionOpens(t *testing.T) {
	t.Parallel()
	l := labtest.New(t)
	for _, target := range []netip.AddrPort{
		netip.AddrPortFrom(lab.ServerV4, lab.PortDropFirst1),
		netip.AddrPortFrom(lab.ServerV6, lab.PortDropFirst1),
	} {
		got, r := probeJSON(t, l, 20*time.Second, target.String())
		res := got[target.String()]
		if res == nil {
			t.Fatalf("%s: no result; stderr: %s", target, r.stderr)
		}
		dur := time.Duration(res.DurationMs * float64(time.Millisecond))
		if res.Outcome != "open" || len(res.Attempts) != 2 {
			t.Errorf("%s: %s after %d SYNs (%+v), want open after 2; stderr: %s", target, res.Outcome, len(res.Attempts), res.Attempts, r.stderr)
		}
		if dur < 6*time.Second || dur > 6*time.Second+300*time.Millisecond {
			t.Errorf("%s: open after %v (SYNs %+v), want just after the 6 s retransmission", target, dur, res.Attempts)
		}
		if r.exit != 0 {
			t.Errorf("%s: exit %d for an open port, want 0", target, r.exit)
		}
	}
}

// TestTeardownLeavesNoHalfOpen: after a probe of an open port the server
// has no half-open connection left, even when the client kernel's own RST
// is suppressed (a firewall in the client drops SYN-ACKs; AF_PACKET still
// sees them), so only tcpprobe's <SEQ=ISS+1><RST> can have cleared it.
func TestTeardownLeavesNoHalfOpen(t *testing.T) {
	t.Parallel()
	l := labtest.New(t)
	for _, cmd := range [][]string{
		{"nft", "add", "table", "inet", "tpe"},
		{"nft", "add chain inet tpe in { type filter hook input priority 0; policy accept; }"},
		{"nft", "add rule inet tpe in tcp flags & (syn | ack) == syn | ack counter drop"},
	} {
		if out, err := l.Exec(l.Client, cmd...); err != nil {
			t.Fatalf("%v: %v %s", cmd, err, out)
		}
	}
	synRecv := func(port uint16) string {
		out, err := l.Exec(l.Server, "ss", "-Htan", "state", "syn-recv", fmt.Sprintf("( dport = :%d )", port))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	// Control: the kernel's own connect() under the same firewall never
	// sees its SYN-ACK and never tears down, so the server keeps a
	// SYN_RECV entry: this is what the check below must not find.
	ctl := netip.AddrPortFrom(lab.ServerV4, lab.PortOpen)
	if _, _, err := l.KernelConnect(l.Client, ctl, 300*time.Millisecond); err == nil {
		t.Fatal("kernel connect succeeded through a firewall that drops SYN-ACKs")
	}
	if out, _ := l.Exec(l.Server, "ss", "-Htan", "state", "syn-recv"); strings.TrimSpace(out) == "" {
		t.Fatal("control failed: no SYN_RECV entry on the server after a connect whose SYN-ACK was dropped")
	}
	for _, target := range []netip.AddrPort{
		netip.AddrPortFrom(lab.ServerV4, lab.PortOpen),
		netip.AddrPortFrom(lab.ServerV6, lab.PortOpen),
	} {
		got, r := probeJSON(t, l, 10*time.Second, "--schedule", "0,1s/2s", target.String())
		res := got[target.String()]
		if res == nil || res.Outcome != "open" || res.Teardown != "rst" {
			t.Fatalf("%s: %+v, stderr %s", target, res, r.stderr)
		}
		// The RST is sent as the SYN-ACK is read; give the server a moment.
		deadline := time.Now().Add(time.Second)
		for synRecv(res.SourcePort) != "" && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if left := synRecv(res.SourcePort); left != "" {
			t.Errorf("%s: the server still has a half-open connection from our port %d:\n%s", target, res.SourcePort, left)
		}
	}
	out, err := l.Exec(l.Client, "nft", "list", "chain", "inet", "tpe", "in")
	if err != nil || !strings.Contains(out, "packets") || strings.Contains(out, "packets 0 ") {
		t.Errorf("the client firewall dropped no SYN-ACK, so the test proved nothing: %s %v", out, err)
	}
}
