package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/listeners"
	"github.com/tcpprobe/tcpprobe/rawsock"
	"github.com/tcpprobe/tcpprobe/report"
	"github.com/tcpprobe/tcpprobe/wire"
)

// holdConnection opens a kernel TCP connection from the client namespace
// to dst and keeps it open (a python3 process the lab kills on cleanup);
// it returns once connect() succeeded.
func holdConnection(t *testing.T, l *lab.Lab, dst netip.AddrPort) {
	t.Helper()
	readyConnection(t, l, dst)()
}

// readyConnection starts the process of holdConnection without
// connecting, and returns the function that makes it connect and waits
// until it has: the interpreter's start-up stays out of a timed window.
func readyConnection(t *testing.T, l *lab.Lab, dst netip.AddrPort) (connect func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cmd := l.Command(ctx, l.Client, "/usr/bin/python3", "-c",
		"import socket,sys,time\nprint('ready',flush=True)\nsys.stdin.readline()\ns=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=5)\nprint('connected',flush=True)\ntime.sleep(120)",
		dst.Addr().String(), strconv.Itoa(int(dst.Port())))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	rd := bufio.NewReader(out)
	expect := func(word string) {
		line, _ := rd.ReadString('\n')
		if !strings.Contains(line, word) {
			t.Fatalf("filler connection to %s: want %q, got %q", dst, word, line)
		}
	}
	expect("ready")
	return func() {
		if _, err := io.WriteString(in, "go\n"); err != nil {
			t.Fatal(err)
		}
		expect("connected")
	}
}

// nstatValue reads one counter's absolute value in ns (nstat -asz: no
// history file is touched).
func nstatValue(t *testing.T, l *lab.Lab, ns, name string) uint64 {
	t.Helper()
	out, err := l.Exec(ns, "nstat", "-asz", name)
	if err != nil {
		t.Fatalf("nstat: %v", err)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == name {
			v, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				t.Fatalf("nstat %s: %q", name, line)
			}
			return v
		}
	}
	t.Fatalf("nstat printed no %s:\n%s", name, out)
	return 0
}

// listenersJSON runs tcpprobe listeners --json in the server namespace.
func listenersJSON(t *testing.T, l *lab.Lab) listeners.SampleJSON {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := l.Command(ctx, l.Server, bin, "listeners", "--json").Output()
	if err != nil {
		t.Fatalf("tcpprobe listeners: %v", err)
	}
	var s listeners.SampleJSON
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("tcpprobe listeners --json: %v\n%s", err, out)
	}
	return s
}

func findListener(s listeners.SampleJSON, addr string, port uint16) *listeners.ListenerJSON {
	for i := range s.Listeners {
		if s.Listeners[i].Address == addr && s.Listeners[i].Port == port {
			return &s.Listeners[i]
		}
	}
	return nil
}

// ssQueue returns ss -lnt's Recv-Q and Send-Q for the listener on port.
func ssQueue(t *testing.T, l *lab.Lab, port uint16) (recvQ, sendQ uint64) {
	t.Helper()
	out, err := l.Exec(l.Server, "ss", "-lntH", fmt.Sprintf("( sport = :%d )", port))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(out)
	if len(f) < 3 {
		t.Fatalf("ss -lnt for port %d: %q", port, out)
	}
	recvQ, _ = strconv.ParseUint(f[1], 10, 64)
	sendQ, _ = strconv.ParseUint(f[2], 10, 64)
	return recvQ, sendQ
}

// TestAcceptQueueFull fills a listener's accept queue (backlog 1, never
// accepting) between the server's SYN-ACK and our final ACK (the router
// drops our first ACK, then a second connection fills the queue): the
// server then ignores our re-sent ACK and re-sends its SYN-ACK
// (tcp_abort_on_overflow=0) or answers it with an RST (=1). tcpprobe must
// report accept-queue-full with the evidence, and `tcpprobe listeners` the
// full queue, agreeing with ss -lnt and nstat.
func TestAcceptQueueFull(t *testing.T) {
	l := newLifeLab(t)
	srv := lab.ServerV4
	for _, tc := range []struct {
		abort string
		port  uint16
		sport uint16
	}{{"0", 7010, 61010}, {"1", 7011, 61011}} {
		t.Run("tcp_abort_on_overflow="+tc.abort, func(t *testing.T) {
			if _, err := l.Exec(l.Server, "sysctl", "-qw", "net.ipv4.tcp_abort_on_overflow="+tc.abort); err != nil {
				t.Fatal(err)
			}
			startLifeServer(t, l, "backlog", srv.String(), tc.port)
			dst := netip.AddrPortFrom(srv, tc.port)
			holdConnection(t, l, dst) // the queue holds 1: not yet full (full is more than the backlog)
			table := "tplq" + tc.abort
			nftApply(t, l, l.Router, fmt.Sprintf(`table inet %[1]s {
  set dropped { type inet_service; flags dynamic; }
  chain dropack {
    type filter hook forward priority -20; policy accept;
    ip saddr %[2]s tcp sport %[3]d tcp dport %[4]d tcp flags & (fin | syn | rst | ack) == ack tcp sport != @dropped add @dropped { tcp sport } drop
  }
}
`, table, lab.ClientV4, tc.sport, tc.port))
			t.Cleanup(func() { _, _ = l.Exec(l.Router, "nft", "delete", "table", "inet", table) })
			fill := readyConnection(t, l, dst) // the second one, started before the probe
			type out struct {
				res map[string]*report.Result
				r   run
			}
			done := make(chan out, 1)
			go func() {
				res, r := probeJSON(t, l, 30*time.Second, "--handshake", "full", "--source-port", strconv.Itoa(int(tc.sport)),
					"--timeout", "3s", "--hold", "4500ms", "--close", "rst", dst.String())
				done <- out{res, r}
			}()
			// Once our final ACK is dropped, fill the queue.
			deadline := time.Now().Add(5 * time.Second)
			for {
				o, _ := l.Exec(l.Router, "nft", "list", "set", "inet", table, "dropped")
				if strings.Contains(o, strconv.Itoa(int(tc.sport))) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the router never dropped our final ACK:\n%s", o)
				}
				time.Sleep(20 * time.Millisecond)
			}
			fill() // the queue holds 2: full
			o := <-done
			res := o.res[dst.String()]
			if res == nil || res.Handshake == nil {
				t.Fatalf("no handshake result\nstdout: %s\nstderr: %s", o.r.stdout, o.r.stderr)
			}
			t.Logf("handshake %+v\n%s", *res.Handshake, segmentsText(res))
			h := res.Handshake
			if !h.AcceptQueueFull || res.Reason != "accept-queue-full" {
				t.Errorf("accept_queue_full %v, reason %q: want accept-queue-full", h.AcceptQueueFull, res.Reason)
			}
			switch tc.abort {
			case "0": // re-sent SYN-ACKs after our ACK, at ≈1 s (ACK lost) and ≈3 s (queue full)
				if h.SYNACKAfterACK < 2 || h.RSTAfterACK {
					t.Errorf("SYN-ACKs after our ACK %d, RST %v: want ≥ 2 and no RST", h.SYNACKAfterACK, h.RSTAfterACK)
				}
			case "1":
				if !h.RSTAfterACK || res.Close.ResetBy != "server" {
					t.Errorf("RST after ACK %v (reset by %q): want the server's RST", h.RSTAfterACK, res.Close.ResetBy)
				}
			}

			// The server side: tcpprobe listeners agrees with ss and nstat.
			before := nstatValue(t, l, l.Server, "TcpExtListenOverflows")
			s := listenersJSON(t, l)
			after := nstatValue(t, l, l.Server, "TcpExtListenOverflows")
			ln := findListener(s, srv.String(), tc.port)
			if ln == nil {
				t.Fatalf("listeners: no %s:%d in %+v", srv, tc.port, s.Listeners)
			}
			rq, sq := ssQueue(t, l, tc.port)
			if uint64(ln.AcceptQueue) != rq || uint64(ln.Backlog) != sq || ln.Backlog != 1 || ln.AcceptQueue != 2 {
				t.Errorf("listeners: queue %d/%d, ss -lnt: %d/%d; want 2/1", ln.AcceptQueue, ln.Backlog, rq, sq)
			}
			if got := s.Counters["TcpExtListenOverflows"]; got < before || got > after || got == 0 {
				t.Errorf("listeners: ListenOverflows %d, nstat %d..%d", got, before, after)
			}
			if !contains(ln.Flags, listeners.FlagAcceptQueueFull) {
				t.Errorf("listener flags %v, want %s", ln.Flags, listeners.FlagAcceptQueueFull)
			}
			if len(ln.Processes) != 1 || ln.Processes[0].Name != "python3" {
				t.Errorf("listener processes %+v, want the python3 server", ln.Processes)
			}
		})
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestListenersSYNFlood sends SYNs from 24 spoofed sources inside the
// client's subnet (198.18.1.100–123: the router never resolves them, so the
// server's SYN-ACKs go nowhere) to a listener with backlog 16: its SYN
// queue fills with half-open connections and the rest are answered with
// syncookies. tcpprobe listeners must show the half-open connections, the
// sources, possible-syn-flood, and counters agreeing with ss and nstat.
func TestListenersSYNFlood(t *testing.T) {
	l := newLifeLab(t)
	const port = 7020
	startLifeServer(t, l, "echo", lab.ServerV4.String(), port)
	const sources = 24
	err := l.Do(l.Client, func() error {
		ifi, err := netInterface(lab.ClientIf)
		if err != nil {
			return err
		}
		link, err := rawsock.Open(ifi, rawsock.LinkConfig{Addrs: []netip.Addr{lab.ClientV4}, SocketQueue: true})
		if err != nil {
			return err
		}
		defer link.Close()
		buf := make([]byte, wire.MaxSegmentLen)
		for i := range sources {
			src := netip.AddrFrom4([4]byte{198, 18, 1, byte(100 + i)})
			n, err := wire.EncodeSegment(buf, &wire.SegmentSpec{Src: src, Dst: lab.ServerV4, SrcPort: uint16(20000 + i),
				DstPort: port, Seq: uint32(i) * 7919, Flags: wire.SYN, Window: 64240,
				Options: wire.Options{MSS: 1460, HasMSS: true}})
			if err != nil {
				return err
			}
			if err := link.WriteIP(buf[:n], lab.RouterMACC); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The SYNs cross the router within milliseconds; wait until ss sees the
	// half-open connections settle.
	var synRecv int
	for range 50 {
		out, err := l.Exec(l.Server, "ss", "-tanH", "state", "syn-recv", fmt.Sprintf("( sport = :%d )", port))
		if err != nil {
			t.Fatal(err)
		}
		synRecv = len(strings.Fields(out)) / 4
		if synRecv >= 16 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cookiesBefore := nstatValue(t, l, l.Server, "TcpExtSyncookiesSent")
	s := listenersJSON(t, l)
	cookiesAfter := nstatValue(t, l, l.Server, "TcpExtSyncookiesSent")
	ln := findListener(s, lab.ServerV4.String(), port)
	if ln == nil {
		t.Fatalf("listeners: no %s:%d", lab.ServerV4, port)
	}
	t.Logf("listener %+v, ss syn-recv %d, counters %v", *ln, synRecv, s.Counters)
	if ln.SYNRecv != synRecv || ln.SYNRecv < 8 || ln.SYNSources != ln.SYNRecv {
		t.Errorf("listeners: %d half-open from %d sources, ss: %d", ln.SYNRecv, ln.SYNSources, synRecv)
	}
	if !contains(ln.Flags, listeners.FlagSYNFlood) {
		t.Errorf("flags %v, want %s", ln.Flags, listeners.FlagSYNFlood)
	}
	if got := s.Counters["TcpExtSyncookiesSent"]; got < cookiesBefore || got > cookiesAfter {
		t.Errorf("SyncookiesSent %d, nstat %d..%d", got, cookiesBefore, cookiesAfter)
	}
	if ln.SYNRecv+int(s.Counters["TcpExtSyncookiesSent"]) < sources {
		t.Errorf("%d half-open + %d syncookies < %d SYNs sent", ln.SYNRecv, s.Counters["TcpExtSyncookiesSent"], sources)
	}

	// --watch: one object per sample, each with the growth since the
	// previous one.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := l.Command(ctx, l.Server, bin, "listeners", "--json", "--watch", "100ms", "--count", "2").Output()
	if err != nil {
		t.Fatalf("tcpprobe listeners --watch: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		t.Fatalf("--watch 100ms --count 2 printed %d lines:\n%s", len(lines), out)
	}
	var first, second listeners.SampleJSON
	if json.Unmarshal([]byte(lines[0]), &first) != nil || json.Unmarshal([]byte(lines[1]), &second) != nil {
		t.Fatalf("not JSON:\n%s", out)
	}
	for name, v := range second.Counters {
		if d := second.Delta[name]; d != v-first.Counters[name] {
			t.Errorf("%s: delta %d, counters %d then %d", name, d, first.Counters[name], v)
		}
	}
	if first.Delta["TcpExtSyncookiesSent"] != first.Counters["TcpExtSyncookiesSent"] {
		t.Errorf("the first sample's delta is not its total: %v vs %v", first.Delta, first.Counters)
	}
}
