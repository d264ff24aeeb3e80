package lab_test

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
)

// outcome is what one kernel connect() ended with.
type outcome struct {
	Errno  syscall.Errno
	GaveUp bool
}

func TestKernelConnectScenarios(t *testing.T) {
	l := labtest.New(t)
	t.Logf("lab %s built in %v", l.Prefix, l.BuildTime)
	dropsBefore := lockDroppedICMPs(t, l)

	const (
		fast    = 500 * time.Millisecond // an answer from the lab itself, no retransmission
		instant = 50 * time.Millisecond  // decided locally, nothing sent
	)
	type tc struct {
		name    string
		dst     netip.Addr
		port    uint16
		timeout time.Duration
		want    outcome
		min     time.Duration
		max     time.Duration
		gate    bool // answer comes from the router's routing table (IPv4): lab.RouteErrorGate
		flush   bool // neighbour failure: FlushNeighbors first
	}
	var cases []tc
	for _, fam := range []struct {
		name                                      string
		server, nfRouter, nfClient                netip.Addr
		rUnreach, rProhibit, rBlackhole, rNoRoute netip.Addr
		cUnreach, cProhibit, cBlackhole, cNoRoute netip.Addr
		admin, routerUnreach, routerProhibit      syscall.Errno
		gate                                      bool
	}{
		{"v4", lab.ServerV4, lab.NeighFailRouterV4, lab.NeighFailClientV4,
			lab.RouterUnreachV4, lab.RouterProhibitV4, lab.RouterBlackholeV4, lab.RouterNoRouteV4,
			lab.ClientUnreachV4, lab.ClientProhibitV4, lab.ClientBlackholeV4, lab.ClientNoRouteV4,
			syscall.EHOSTUNREACH, syscall.EHOSTUNREACH, syscall.EHOSTUNREACH, true},
		// lab-notes: ICMPv6 1/1 → EACCES; a router's unreachable route sends 1/0 →
		// ENETUNREACH (while the client's own v6 unreachable route gives EHOSTUNREACH).
		{"v6", lab.ServerV6, lab.NeighFailRouterV6, lab.NeighFailClientV6,
			lab.RouterUnreachV6, lab.RouterProhibitV6, lab.RouterBlackholeV6, lab.RouterNoRouteV6,
			lab.ClientUnreachV6, lab.ClientProhibitV6, lab.ClientBlackholeV6, lab.ClientNoRouteV6,
			syscall.EACCES, syscall.ENETUNREACH, syscall.EACCES, false},
	} {
		p := func(s string) string { return fam.name + "/" + s }
		cases = append(cases,
			tc{name: p("open"), dst: fam.server, port: lab.PortOpen, want: outcome{}, max: fast},
			tc{name: p("closed"), dst: fam.server, port: lab.PortClosed, want: outcome{Errno: syscall.ECONNREFUSED}, max: fast},
			tc{name: p("reject-port"), dst: fam.server, port: lab.PortRejectPort, want: outcome{Errno: syscall.ECONNREFUSED}, max: fast},
			tc{name: p("reject-reset"), dst: fam.server, port: lab.PortRejectReset, want: outcome{Errno: syscall.ECONNREFUSED}, max: fast},
			tc{name: p("reject-admin"), dst: fam.server, port: lab.PortRejectAdmin, want: outcome{Errno: fam.admin}, max: fast},
			tc{name: p("reject-host"), dst: fam.server, port: lab.PortRejectHost, want: outcome{Errno: syscall.EHOSTUNREACH}, max: fast},
			tc{name: p("reject-net"), dst: fam.server, port: lab.PortRejectNet, want: outcome{Errno: syscall.ENETUNREACH}, max: fast},
			tc{name: p("drop"), dst: fam.server, port: lab.PortDrop, timeout: 2 * time.Second, want: outcome{GaveUp: true}, min: 2 * time.Second, max: 2*time.Second + fast},
			tc{name: p("drop-first-1"), dst: fam.server, port: lab.PortDropFirst1, want: outcome{}, min: 900 * time.Millisecond, max: time.Second + fast},
			tc{name: p("drop-first-2"), dst: fam.server, port: lab.PortDropFirst2, want: outcome{}, min: 1900 * time.Millisecond, max: 2*time.Second + fast},
			tc{name: p("delay"), dst: fam.server, port: lab.PortDelay, want: outcome{}, min: lab.DelayPath, max: lab.DelayPath + fast},
			tc{name: p("router-unreachable"), dst: fam.rUnreach, port: lab.PortOpen, want: outcome{Errno: fam.routerUnreach}, max: fast, gate: fam.gate},
			tc{name: p("router-prohibit"), dst: fam.rProhibit, port: lab.PortOpen, want: outcome{Errno: fam.routerProhibit}, max: fast, gate: fam.gate},
			tc{name: p("router-blackhole"), dst: fam.rBlackhole, port: lab.PortOpen, timeout: 1500 * time.Millisecond, want: outcome{GaveUp: true}, min: 1500 * time.Millisecond, max: 1500*time.Millisecond + fast},
			tc{name: p("router-no-route"), dst: fam.rNoRoute, port: lab.PortOpen, want: outcome{Errno: syscall.ENETUNREACH}, max: fast, gate: fam.gate},
			tc{name: p("router-neighbour-failure"), dst: fam.nfRouter, port: lab.PortOpen, want: outcome{Errno: syscall.EHOSTUNREACH}, min: 2500 * time.Millisecond, max: 4 * time.Second, flush: true},
			tc{name: p("client-neighbour-failure"), dst: fam.nfClient, port: lab.PortOpen, want: outcome{Errno: syscall.EHOSTUNREACH}, min: 2500 * time.Millisecond, max: 4 * time.Second, flush: true},
			tc{name: p("client-unreachable"), dst: fam.cUnreach, port: lab.PortOpen, want: outcome{Errno: syscall.EHOSTUNREACH}, max: instant},
			tc{name: p("client-prohibit"), dst: fam.cProhibit, port: lab.PortOpen, want: outcome{Errno: syscall.EACCES}, max: instant},
			tc{name: p("client-blackhole"), dst: fam.cBlackhole, port: lab.PortOpen, want: outcome{Errno: syscall.EINVAL}, max: instant},
			tc{name: p("client-no-route"), dst: fam.cNoRoute, port: lab.PortOpen, want: outcome{Errno: syscall.ENETUNREACH}, max: instant},
		)
	}
	// A probe joining a resolution in progress gets its ICMP early: start cold.
	if err := l.FlushNeighbors(); err != nil {
		t.Fatal(err)
	}
	// Every probe runs at once (t.Parallel would run only GOMAXPROCS of them at a
	// time); the subtests then judge the results.
	type result struct {
		errno   syscall.Errno
		elapsed time.Duration
		err     error
	}
	results := make([]result, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() {
			timeout := c.timeout
			if timeout == 0 {
				timeout = 6 * time.Second
			}
			if c.gate {
				release := lab.RouteErrorGate()
				defer release()
			}
			r := &results[i]
			r.errno, r.elapsed, r.err = l.KernelConnect(l.Client, netip.AddrPortFrom(c.dst, c.port), timeout)
		})
	}
	wg.Wait()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := results[i]
			if r.err != nil && !errors.Is(r.err, lab.ErrGaveUp) {
				t.Fatalf("KernelConnect([%s]:%d): %v", c.dst, c.port, r.err)
			}
			got := outcome{Errno: r.errno, GaveUp: errors.Is(r.err, lab.ErrGaveUp)}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("connect to [%s]:%d after %v (-want +got):\n%s", c.dst, c.port, r.elapsed, diff)
			}
			if r.elapsed < c.min || r.elapsed > c.max {
				t.Errorf("connect to [%s]:%d took %v, want %v..%v", c.dst, c.port, r.elapsed, c.min, c.max)
			}
			t.Logf("[%s]:%d → %v (%d) gave up=%v in %v", c.dst, c.port, r.errno, int(r.errno), got.GaveUp, r.elapsed.Round(time.Millisecond))
		})
	}
	if d := lockDroppedICMPs(t, l) - dropsBefore; d != 0 {
		t.Errorf("client TcpExtLockDroppedIcmps went up by %d: an ICMP reached a socket locked by connect() (zero-latency artifact)", d)
	}
}

// lockDroppedICMPs reads TcpExt LockDroppedIcmps in the client's namespace.
func lockDroppedICMPs(t *testing.T, l *lab.Lab) int {
	t.Helper()
	var n int
	err := l.Do(l.Client, func() error {
		f, err := os.Open("/proc/thread-self/net/netstat")
		if err != nil {
			return err
		}
		defer f.Close()
		var names []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) == 0 || fields[0] != "TcpExt:" {
				continue
			}
			if names == nil {
				names = fields
				continue
			}
			for i, name := range names {
				if name == "LockDroppedIcmps" && i < len(fields) {
					n, err = strconv.Atoi(fields[i])
					return err
				}
			}
		}
		return fmt.Errorf("LockDroppedIcmps not in /proc/net/netstat")
	})
	if err != nil {
		t.Fatalf("reading the client's netstat: %v", err)
	}
	return n
}

func TestCleanupRemovesEverything(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip(lab.SkipNotRoot)
	}
	// A namespace left by a killed run: its pid is gone.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf("tpl-%d-dead-c", dead.Process.Pid)
	if _, err := exec.Command("ip", "netns", "add", stale).CombinedOutput(); err != nil {
		t.Fatalf("creating stale namespace: %v", err)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", stale).Run() })

	var prefix string
	t.Run("build", func(t *testing.T) {
		l := labtest.New(t)
		prefix = l.Prefix
		t.Logf("lab built in %v", l.BuildTime)
		if l.BuildTime > 2*time.Second {
			t.Errorf("lab took %v to build, want well under 5 s (≤ 2 s)", l.BuildTime)
		}
		names := netnsNames(t)
		for _, ns := range []string{l.Client, l.Router, l.Server} {
			if !names[ns] {
				t.Errorf("namespace %s missing after New", ns)
			}
		}
		// The namespaces' sysctls, not the host's.
		for _, c := range []struct{ ns, key, want string }{
			{l.Router, "net.ipv4.ip_forward", "1"},
			{l.Router, "net.ipv6.conf.all.forwarding", "1"},
			{l.Client, "net.ipv4.icmp_ratelimit", "0"},
			{l.Server, "net.ipv6.icmp.ratelimit", "0"},
			{l.Router, "net.ipv4.conf." + lab.DelayIf + ".accept_local", "1"},
		} {
			out, err := l.Exec(c.ns, "cat", "/proc/sys/"+strings.ReplaceAll(c.key, ".", "/"))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(out); got != c.want {
				t.Errorf("%s in %s = %s, want %s", c.key, c.ns, got, c.want)
			}
		}
		if names[stale] {
			t.Errorf("stale namespace %s of a dead process survived New", stale)
		}
		// Something for cleanup to kill.
		cmd := l.Command(t.Context(), l.Server, "sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	})
	for ns := range netnsNames(t) {
		if strings.HasPrefix(ns, prefix) {
			t.Errorf("namespace %s still there after cleanup", ns)
		}
	}
}

// netnsNames lists the named network namespaces.
func netnsNames(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names[f[0]] = true
		}
	}
	return names
}

func TestSYNCountsAndCapture(t *testing.T) {
	l := labtest.New(t)
	capt, err := l.Capture(l.Server, lab.ServerIf, fmt.Sprintf("tcp port %d", lab.PortDropFirst2))
	if err != nil {
		t.Fatal(err)
	}
	errno, elapsed, err := l.KernelConnect(l.Client, netip.AddrPortFrom(lab.ServerV4, lab.PortDropFirst2), 6*time.Second)
	if err != nil || errno != 0 {
		t.Fatalf("connect to port %d: errno %v, err %v after %v", lab.PortDropFirst2, errno, err, elapsed)
	}
	time.Sleep(100 * time.Millisecond) // let tcpdump print the last packets
	pkts, err := capt.Stop()
	if err != nil {
		t.Fatal(err)
	}
	var syns int
	for _, p := range pkts {
		if strings.Contains(p.Line, "Flags [S]") {
			syns++
		}
		if p.Time.IsZero() || time.Since(p.Time) > time.Minute {
			t.Errorf("packet time %v not parsed from %q", p.Time, p.Line)
		}
	}
	seen, err := l.SYNSeen(lab.PortDropFirst2)
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := l.SYNCount(lab.PortDropFirst2)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{"seen by router": seen, "forwarded by router": fwd, "captured at server": syns}
	want := map[string]int{"seen by router": 3, "forwarded by router": 1, "captured at server": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SYNs for port %d (-want +got):\n%s\ncapture:\n%v", lab.PortDropFirst2, diff, pkts)
	}
	// After a reset the same 4-tuple would be dropped again; counters restart at 0.
	if err := l.ResetDropFirst(); err != nil {
		t.Fatal(err)
	}
	if err := l.ResetSYNCounts(); err != nil {
		t.Fatal(err)
	}
	if n, err := l.SYNSeen(lab.PortDropFirst2); err != nil || n != 0 {
		t.Errorf("SYNSeen after reset = %d, %v; want 0, nil", n, err)
	}
}
