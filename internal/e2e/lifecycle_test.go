package e2e

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/docs/schema"
	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/internal/privilege"
	"github.com/tcpprobe/tcpprobe/report"
)

// handshakeRun runs tcpprobe --json --handshake full against target and
// returns its one result.
func handshakeRun(t *testing.T, l *lab.Lab, target string, args ...string) *report.Result {
	t.Helper()
	all := append([]string{"--handshake", "full", "--timeout", "3s"}, args...)
	got, r := probeJSON(t, l, 30*time.Second, append(all, target)...)
	res, ok := got[target]
	if !ok {
		t.Fatalf("tcpprobe %s: no result for %s\nstdout: %s\nstderr: %s", strings.Join(all, " "), target, r.stdout, r.stderr)
	}
	if err := schema.Validate([]byte(r.stdout)); err != nil {
		t.Errorf("output does not follow the schema: %v\n%s", err, r.stdout)
	}
	if res.Handshake == nil || res.Close == nil || res.Life != "handshake" {
		t.Fatalf("result without handshake/close objects: %+v\nstderr: %s", res, r.stderr)
	}
	t.Logf("%s: outcome %s, close %+v, segments:\n%s", target, res.Outcome, *res.Close, segmentsText(res))
	return res
}

func segmentsText(r *report.Result) string {
	var b strings.Builder
	for _, s := range r.Segments {
		fmt.Fprintf(&b, "  %9.3fms %-8s %-8s seq=%d ack=%d len=%d %s\n", s.AtMs, s.Dir, s.Kind, s.Seq, s.Ack, s.Len, s.Note)
	}
	return b.String()
}

// notes counts the segments of r with note n.
func notes(r *report.Result, n string) int {
	c := 0
	for _, s := range r.Segments {
		if s.Note == n {
			c++
		}
	}
	return c
}

// TestHandshakeClose runs a whole connection against real servers in the
// server namespace and checks how tcpprobe reports its close, and that
// the server is left with no connection in an unexpected state.
func TestHandshakeClose(t *testing.T) {
	l := labtest.New(t)
	srv := lab.ServerV4.String()
	target := func(port uint16) string { return fmt.Sprintf("%s:%d", srv, port) }
	// After each close, the server's states for the port must be within
	// allowed (ss in the server namespace), polled a short while: the
	// server's last steps follow ours by a round trip.
	settle := func(t *testing.T, port uint16, allowed ...string) {
		t.Helper()
		var states []string
		for range 20 {
			states = serverStates(t, l, l.Server, port)
			if !slices.ContainsFunc(states, func(s string) bool { return !slices.Contains(allowed, s) }) {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Errorf("server states on port %d: %v, want only %v", port, states, allowed)
	}

	t.Run("graceful, we close first", func(t *testing.T) {
		const port = 7001
		startLifeServer(t, l, "echo", srv, port)
		// TIME_WAIT is TCP_TIMEWAIT_LEN, 60 s: tcp_fin_timeout (FIN_WAIT_2)
		// must not shorten it.
		if _, err := l.Exec(l.Client, "sysctl", "-qw", "net.ipv4.tcp_fin_timeout=7"); err != nil {
			t.Fatal(err)
		}
		res := handshakeRun(t, l, target(port), "--send", `ping\r\n`, "--expect-banner", "ping")
		h, c := res.Handshake, res.Close
		if res.Outcome != "open" || !h.Established || h.BytesSent != 6 || h.BytesReceived != 6 || h.BannerMatched == nil || !*h.BannerMatched {
			t.Errorf("handshake %+v, outcome %s", *h, res.Outcome)
		}
		if c.FirstFIN != "client" || !c.Graceful || c.TimeWait != "client" || c.TimeWaitMs != 60000 || c.ResetBy != "" {
			t.Errorf("close %+v", *c)
		}
		if c.LocalState != "TIME-WAIT" || c.LocalStateLeftMs < 50000 || c.LocalStateLeftMs > 60000 {
			t.Errorf("the client kernel's socket after the close: %q with %.0fms left, want TIME-WAIT with at most 60 s", c.LocalState, c.LocalStateLeftMs)
		}
		if c.ServerFINMs == nil || c.ServerACKOfFINMs == nil || c.ClientFINMs == nil || *c.ServerFINMs < *c.ClientFINMs {
			t.Errorf("close times: client FIN %v, server ACK %v, server FIN %v", c.ClientFINMs, c.ServerACKOfFINMs, c.ServerFINMs)
		}
		settle(t, port) // the server went LAST_ACK → CLOSED: nothing left
	})

	t.Run("the server closes first", func(t *testing.T) {
		const port = 7002
		startLifeServer(t, l, "banner", srv, port)
		res := handshakeRun(t, l, target(port), "--expect-banner", `hello\r\n`, "--hold", "500ms")
		c := res.Close
		if c.FirstFIN != "server" || !c.Graceful || c.TimeWait != "server" || res.Handshake.Banner != "hello\r\n" {
			t.Errorf("close %+v, banner %q", *c, res.Handshake.Banner)
		}
		settle(t, port, "TIME-WAIT") // the server closed first: it keeps TIME_WAIT
		if st := serverStates(t, l, l.Server, port); !slices.Equal(st, []string{"TIME-WAIT"}) {
			t.Errorf("server states %v, want its TIME-WAIT", st)
		}
	})

	t.Run("the server resets on close (unread data)", func(t *testing.T) {
		const port = 7003
		startLifeServer(t, l, "unread", srv, port)
		res := handshakeRun(t, l, target(port), "--send", "unread data", "--hold", "1s")
		c := res.Close
		if c.ResetBy != "server" || !c.RSTOnClose || c.Graceful || res.Handshake.AcceptQueueFull {
			t.Errorf("close %+v, handshake %+v", *c, *res.Handshake)
		}
		if res.Handshake.Error != "ECONNRESET" {
			t.Errorf("data phase error %q, want ECONNRESET", res.Handshake.Error)
		}
		settle(t, port)
	})

	t.Run("the server never sends its FIN", func(t *testing.T) {
		const port = 7004
		startLifeServer(t, l, "hold", srv, port)
		res := handshakeRun(t, l, target(port), "--close-timeout", "1s")
		c := res.Close
		if c.FirstFIN != "client" || !c.NoServerFIN || c.Graceful || c.ServerACKOfFINMs == nil || c.TimeWait != "" {
			t.Errorf("close %+v", *c)
		}
		// We held our half-close until the deadline, then closed: the
		// server holds CLOSE_WAIT (its application never closes) or
		// saw our RST; nothing else.
		settle(t, port, "CLOSE-WAIT")
	})

	t.Run("our last ACK lost: the re-sent FIN is answered from TIME_WAIT", func(t *testing.T) {
		const port = 7005
		startLifeServer(t, l, "echo", srv, port)
		// In the router: after a client FIN to the port, drop the first
		// bare ACK of that flow: the ACK of the server's FIN.
		nftApply(t, l, l.Router, fmt.Sprintf(`table inet tplife {
  set finseen { type ipv4_addr . inet_service; flags dynamic; }
  set dropped { type ipv4_addr . inet_service; flags dynamic; }
  chain dropack {
    type filter hook forward priority -20; policy accept;
    ip daddr %[1]s tcp dport %[2]d tcp flags & fin == fin add @finseen { ip saddr . tcp sport }
    ip daddr %[1]s tcp dport %[2]d tcp flags & (fin | syn | rst | ack) == ack ip saddr . tcp sport @finseen ip saddr . tcp sport != @dropped add @dropped { ip saddr . tcp sport } counter drop
  }
}
`, srv, port))
		t.Cleanup(func() { _, _ = l.Exec(l.Router, "nft", "delete", "table", "inet", "tplife") })
		res := handshakeRun(t, l, target(port), "--close-timeout", "2s")
		c := res.Close
		if c.FirstFIN != "client" || c.FINRetransmits < 1 || !c.AnsweredFromTimeWait || !c.Graceful {
			t.Errorf("close %+v", *c)
		}
		if notes(res, "fin-retransmit") < 1 || notes(res, "time-wait-ack") < 1 {
			t.Errorf("segments lack the re-sent FIN and its answer")
		}
		settle(t, port)
	})

	t.Run("IPv6, text output", func(t *testing.T) {
		const port = 7007
		startLifeServer(t, l, "echo", lab.ServerV6.String(), port)
		tgt := fmt.Sprintf("[%s]:%d", lab.ServerV6, port)
		res := handshakeRun(t, l, tgt, "--send", "six")
		if c := res.Close; !c.Graceful || c.FirstFIN != "client" || res.Family != "ipv6" || res.Handshake.BytesReceived != 3 {
			t.Errorf("close %+v, handshake %+v", *c, *res.Handshake)
		}
		r := tcpprobe(t, l, 30*time.Second, "-v", "--handshake", "full", "--timeout", "3s", "--send", "six", tgt)
		t.Logf("text output:\n%s", r.stdout)
		for _, want := range []string{tgt + " open", "final-ack", "close (fin): first FIN from client, graceful", "TIME_WAIT kept by the client for 1m0s"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("text output lacks %q:\n%s", want, r.stdout)
			}
		}
		settle(t, port)
	})

	t.Run("privilege dropped while the connection is held", func(t *testing.T) {
		const port = 7008
		startLifeServer(t, l, "hold", srv, port)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := l.Command(ctx, l.Client, bin, "--json", "--handshake", "full", "--hold", "2s", "--close", "rst", target(port))
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // the tap is open and the connection up
		st, err := privilege.StatusOf(fmt.Sprintf("/proc/%d", cmd.Process.Pid))
		werr := cmd.Wait()
		if err != nil {
			t.Fatalf("reading tcpprobe's status: %v (exit %v)\nstderr: %s", err, werr, errb.String())
		}
		if !st.Unprivileged() || !st.NoNewPrivs {
			t.Errorf("tcpprobe --handshake full while connected: %v, want no privilege left", st)
		}
		if werr != nil || !strings.Contains(out.String(), `"segments"`) {
			t.Errorf("exit %v\nstdout: %s\nstderr: %s", werr, out.String(), errb.String())
		}
		settle(t, port)
	})

	t.Run("we abort with RST", func(t *testing.T) {
		const port = 7006
		startLifeServer(t, l, "hold", srv, port)
		res := handshakeRun(t, l, target(port), "--close", "rst")
		c := res.Close
		if c.ResetBy != "client" || c.Graceful || c.TimeWait != "" || c.LocalState != "" {
			t.Errorf("close %+v", *c)
		}
		settle(t, port)
	})
}

// TestACKScan sends a bare ACK to an open, a closed, a DROP-filtered and a
// REJECT-filtered port: an RST back (its SEQ our ACK number) means
// unfiltered, silence or an ICMP error filtered.
func TestACKScan(t *testing.T) {
	l := labtest.New(t)
	for _, fam := range []struct {
		name string
		addr string
	}{{"ipv4", lab.ServerV4.String()}, {"ipv6", "[" + lab.ServerV6.String() + "]"}} {
		t.Run(fam.name, func(t *testing.T) {
			tgt := func(p uint16) string { return fmt.Sprintf("%s:%d", fam.addr, p) }
			cases := []struct {
				port            uint16
				outcome, reason string
				errno           string
			}{
				{lab.PortOpen, "unfiltered", "rst", ""},
				{lab.PortClosed, "unfiltered", "rst", ""},
				{lab.PortDrop, "filtered", "timeout", "ETIMEDOUT"},
				{lab.PortRejectPort, "filtered", map[string]string{"ipv4": "icmp-port-unreachable", "ipv6": "icmp6-port-unreachable"}[fam.name], "ECONNREFUSED"},
				{lab.PortRejectAdmin, "filtered", "", ""},
			}
			var args []string
			for _, c := range cases {
				args = append(args, tgt(c.port))
			}
			got, r := probeJSON(t, l, 20*time.Second, append([]string{"--scan", "ack", "--schedule", "0,300ms/1s"}, args...)...)
			if err := schema.Validate([]byte(r.stdout)); err != nil {
				t.Errorf("output does not follow the schema: %v\n%s", err, r.stdout)
			}
			if r.exit != 1 { // the filtered ports miss the default expectation (open)
				t.Errorf("exit %d, want 1\nstderr: %s", r.exit, r.stderr)
			}
			for _, c := range cases {
				res, ok := got[tgt(c.port)]
				if !ok {
					t.Errorf("%s: no result", tgt(c.port))
					continue
				}
				if res.Outcome != c.outcome || (c.reason != "" && res.Reason != c.reason) || (c.errno != "" && res.Errno != c.errno) || res.Life != "ack-scan" {
					t.Errorf("%s: %s %s (%s), want %s %s (%s)", tgt(c.port), res.Outcome, res.Errno, res.Reason, c.outcome, c.errno, c.reason)
				}
				for _, e := range res.Events {
					if e.Dir == "received" && e.Effect == "decided" && e.Kind == "RST" && e.Seq != nil && res.Attempts != nil {
						// The deciding RST's SEQ is our ACK number: checked by the engine; the
						// ACK we sent is in the first event.
						if sent := res.Events[0]; sent.Ack == nil || *sent.Ack != *e.Seq {
							t.Errorf("%s: RST seq %d is not our ACK number %v", tgt(c.port), *e.Seq, sent.Ack)
						}
					}
				}
			}
			// --expect takes the new outcomes.
			r = tcpprobe(t, l, 20*time.Second, "--scan", "ack", "--timeout", "1s", "--expect", "unfiltered", tgt(lab.PortOpen), tgt(lab.PortClosed))
			if r.exit != 0 {
				t.Errorf("--expect unfiltered: exit %d\nstdout: %s\nstderr: %s", r.exit, r.stdout, r.stderr)
			}
			r = tcpprobe(t, l, 20*time.Second, "--scan", "ack", "--timeout", "500ms", "--expect", "filtered", tgt(lab.PortDrop))
			if r.exit != 0 || !strings.Contains(r.stdout, "filtered") {
				t.Errorf("--expect filtered: exit %d\nstdout: %s\nstderr: %s", r.exit, r.stdout, r.stderr)
			}
		})
	}
}
