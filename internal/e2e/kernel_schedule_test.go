package e2e

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tcpprobe/tcpprobe/internal/lab"
	"github.com/tcpprobe/tcpprobe/internal/labtest"
	"github.com/tcpprobe/tcpprobe/probe"
	"github.com/tcpprobe/tcpprobe/report"
)

// sideBySide runs the kernel's connect() and `tcpprobe --json --profile
// linux` (with flags) to dst at once from the client namespace, with change run there
// after `after`, while tcpdump on the client's interface records every
// SYN to dst's port. It returns the kernel's errno ("ETIMEDOUT" style
// name) and time, tcpprobe's result, and the SYN times of each, relative
// to its own first SYN, told apart by source port.
type sideBySideRun struct {
	kernelErrno string
	kernelTook  time.Duration
	res         *report.Result
	kernelSYNs  []time.Duration
	probeSYNs   []time.Duration
}

func sideBySide(t *testing.T, l *lab.Lab, dst netip.AddrPort, limit, after time.Duration, change [][]string, flags ...string) sideBySideRun {
	t.Helper()
	filter := fmt.Sprintf("tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn and dst port %d", dst.Port())
	client := lab.ClientV4
	if dst.Addr().Is6() {
		// libpcap has no tcp[] for IPv6: the flags byte of a TCP header
		// right after the fixed header (the lab sends no extension headers).
		filter = fmt.Sprintf("ip6 and tcp and ip6[53] & 0x12 == 0x02 and dst port %d", dst.Port())
		client = lab.ClientV6
	}
	capt, err := l.Capture(l.Client, lab.ClientIf, filter)
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		out    sideBySideRun
		kerrno syscall.Errno
		kerr   error
		got    map[string]*report.Result
		cerr   error
	)
	wg.Add(3)
	go func() {
		defer wg.Done()
		kerrno, out.kernelTook, kerr = l.KernelConnect(l.Client, dst, limit)
	}()
	go func() {
		defer wg.Done()
		got, _ = probeJSON(t, l, limit+10*time.Second, append(append([]string{"--profile", "linux"}, flags...), dst.String())...)
	}()
	go func() {
		defer wg.Done()
		time.Sleep(after)
		for _, c := range change {
			if o, err := l.Exec(l.Client, c...); err != nil {
				cerr = fmt.Errorf("%s: %v\n%s", strings.Join(c, " "), err, o)
				return
			}
		}
	}()
	wg.Wait()
	pkts, err := capt.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if cerr != nil {
		t.Fatal(cerr)
	}
	switch {
	case errors.Is(kerr, lab.ErrGaveUp):
		t.Fatalf("the kernel's connect() was still waiting after %v", limit)
	case kerr != nil:
		t.Fatalf("kernel connect: %v", kerr)
	case kerrno == 0:
		out.kernelErrno = "connected"
	default:
		out.kernelErrno = probe.ErrnoName(kerrno)
	}
	out.res = got[dst.String()]
	if out.res == nil {
		t.Fatalf("tcpprobe gave no result for %s", dst)
	}
	// "TIME IP 198.18.1.2.PORT > …": tcpprobe's SYNs carry its source port.
	mine := fmt.Sprintf(" %s.%d > ", client, out.res.SourcePort)
	var k0, p0 time.Time
	for _, p := range pkts {
		if strings.Contains(p.Line, mine) {
			if p0.IsZero() {
				p0 = p.Time
			}
			out.probeSYNs = append(out.probeSYNs, p.Time.Sub(p0))
			continue
		}
		if k0.IsZero() {
			k0 = p.Time
		}
		out.kernelSYNs = append(out.kernelSYNs, p.Time.Sub(k0))
	}
	return out
}

// sameTimes reports whether two SYN schedules seen on the wire agree, each
// SYN within 100 ms plus 5 % of its time: the kernel arms each
// retransmission timer when the last one fired, and each fires some 20 ms
// late (measured: 1.022, 2.046, 3.074, 4.094, 5.118 s), where tcpprobe
// keeps to the schedule's own times.
func sameTimes(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		tol := 100*time.Millisecond + a[i]/20
		if d := a[i] - b[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}

// TestLinuxScheduleMatchesKernel is the kernel-oracle check of the linux
// profile's schedule where the time limit of tcp_write_timeout
// (tcp_model_timeout of tcp_syn_retries) ends it before the retransmission
// count: with tcp_syn_retries 1 and 2 in the client namespace, tcpprobe
// --profile linux and the kernel's connect() to a silent port send their
// SYNs at the same times on the wire and give up at the same time with
// the same errno.
func TestLinuxScheduleMatchesKernel(t *testing.T) {
	for _, retries := range []int{1, 2} {
		t.Run(fmt.Sprintf("tcp_syn_retries=%d", retries), func(t *testing.T) {
			t.Parallel()
			l := labtest.New(t)
			if o, err := l.Exec(l.Client, "sysctl", "-qw", fmt.Sprintf("net.ipv4.tcp_syn_retries=%d", retries)); err != nil {
				t.Fatalf("sysctl: %v\n%s", err, o)
			}
			r := sideBySide(t, l, netip.AddrPortFrom(lab.ServerV4, lab.PortDrop), 15*time.Second, 0, nil)
			took := time.Duration(r.res.DurationMs * float64(time.Millisecond))
			t.Logf("kernel: %s after %v, SYNs %v; tcpprobe: %s after %v, SYNs %v",
				r.kernelErrno, r.kernelTook.Round(time.Millisecond), r.kernelSYNs, r.res.Errno, took.Round(time.Millisecond), r.probeSYNs)
			if r.res.Errno != r.kernelErrno {
				t.Errorf("tcpprobe says %s, the kernel %s", r.res.Errno, r.kernelErrno)
			}
			if !sameTimes(r.kernelSYNs, r.probeSYNs) {
				t.Errorf("SYNs on the wire: kernel %v, tcpprobe %v (each within 100 ms + 5 %%)", r.kernelSYNs, r.probeSYNs)
			}
			if d := took - r.kernelTook; d > 300*time.Millisecond || d < -300*time.Millisecond {
				t.Errorf("tcpprobe gave up after %v, the kernel after %v", took, r.kernelTook)
			}
		})
	}
}

// TestRouteLostMatchesKernel changes the client's route to the server
// after the first SYN, while tcpprobe --profile linux and the kernel's
// connect() both wait on a silent port (tcp_syn_retries=2: SYNs at 0-5 s,
// give-up at 7 s). The kernel asks for the route again before each
// retransmission; the ones that find none do not leave, the errno is kept
// as a soft error (sk_err_soft) and connect() fails with it at the
// give-up time. tcpprobe must send the same SYNs and report the same
// errno at the same time.
func TestRouteLostMatchesKernel(t *testing.T) {
	type change struct {
		name string
		cmds func(route string, gw netip.Addr) [][]string
	}
	changes := []change{
		{"deleted", func(r string, _ netip.Addr) [][]string { return [][]string{{"ip", "route", "del", r}} }},
		{"unreachable", func(r string, _ netip.Addr) [][]string {
			return [][]string{{"ip", "route", "replace", "unreachable", r}}
		}},
		{"prohibit", func(r string, _ netip.Addr) [][]string { return [][]string{{"ip", "route", "replace", "prohibit", r}} }},
		{"blackhole", func(r string, _ netip.Addr) [][]string { return [][]string{{"ip", "route", "replace", "blackhole", r}} }},
		// The link goes down: the kernel drops the routes through it.
		{"link down", func(string, netip.Addr) [][]string { return [][]string{{"ip", "link", "set", lab.ClientIf, "down"}} }},
		// Gone for the retransmissions at 1 and 2 s, back for the rest:
		// the saved errno still decides at the give-up.
		{"back after 2.5 s", func(r string, gw netip.Addr) [][]string {
			return [][]string{{"ip", "route", "replace", "unreachable", r}, {"sleep", "2.2"},
				{"ip", "route", "replace", r, "via", gw.String(), "dev", lab.ClientIf}}
		}},
	}
	families := []struct {
		name  string
		dst   netip.AddrPort
		route string
		gw    netip.Addr
	}{
		{"ipv4", netip.AddrPortFrom(lab.ServerV4, lab.PortDrop), "198.18.2.0/24", lab.RouterV4C},
		{"ipv6", netip.AddrPortFrom(lab.ServerV6, lab.PortDrop), "fd00:2::/64", lab.RouterV6C},
	}
	for _, fam := range families {
		for _, c := range changes {
			t.Run(fam.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				l := labtest.New(t)
				if o, err := l.Exec(l.Client, "sysctl", "-qw", "net.ipv4.tcp_syn_retries=2"); err != nil {
					t.Fatalf("sysctl: %v\n%s", err, o)
				}
				cmds := c.cmds(fam.route, fam.gw)
				if fam.dst.Addr().Is6() {
					for i, cmd := range cmds {
						if cmd[0] == "ip" && cmd[1] == "route" {
							cmds[i] = append([]string{"ip", "-6"}, cmd[1:]...)
						}
					}
				}
				r := sideBySide(t, l, fam.dst, 15*time.Second, 300*time.Millisecond, cmds)
				took := time.Duration(r.res.DurationMs * float64(time.Millisecond))
				t.Logf("kernel: %s after %v, SYNs %v; tcpprobe: %s (%s, soft %t) after %v, SYNs %v",
					r.kernelErrno, r.kernelTook.Round(time.Millisecond), r.kernelSYNs, r.res.Errno, r.res.Reason, r.res.Soft, took.Round(time.Millisecond), r.probeSYNs)
				if r.res.Errno != r.kernelErrno {
					t.Errorf("tcpprobe says %s, the kernel %s", r.res.Errno, r.kernelErrno)
				}
				if r.res.Errno != "ETIMEDOUT" && !r.res.Soft {
					t.Errorf("tcpprobe's %s is not marked soft (reported at the deadline)", r.res.Errno)
				}
				if !sameTimes(r.kernelSYNs, r.probeSYNs) {
					t.Errorf("SYNs on the wire: kernel %v, tcpprobe %v (each within 100 ms + 5 %%)", r.kernelSYNs, r.probeSYNs)
				}
				if d := took - r.kernelTook; d > 300*time.Millisecond || d < -300*time.Millisecond {
					t.Errorf("tcpprobe gave up after %v, the kernel after %v", took, r.kernelTook)
				}
			})
		}
	}
}

// TestGatewayChangeMatchesKernel moves the client's route to the server to
// a second gateway on the same link (a macvlan of the router with its own
// hardware address) after the first SYN, while tcpprobe --profile linux
// and the kernel's connect() wait on a silent port. The kernel's
// retransmissions look the route up again and go to the new gateway's
// hardware address once it has resolved it; tcpprobe's must too, at the
// same times, and both end the same way. tcpprobe has dropped its
// privileges by then: it solicits the new gateway through the ARP or NDP
// socket it kept open (rawsock.Solicitor). Both families.
func TestGatewayChangeMatchesKernel(t *testing.T) {
	const newMAC = "02:00:00:00:01:77"
	for _, fam := range []struct {
		name   string
		dst    netip.AddrPort
		client netip.Addr
		newGW  string // the router's second address on the client's link
		server string // the server's prefix, routed through newGW
		setup  [][]string
		filter string // the SYNs to the new gateway's hardware address
	}{
		{
			name: "ipv4", dst: netip.AddrPortFrom(lab.ServerV4, lab.PortDrop), client: lab.ClientV4,
			newGW: "198.18.1.3", server: "198.18.2.0/24",
			setup: [][]string{
				// Only the interface that has an address answers ARP for it.
				{"sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"},
				{"ip", "link", "add", "r0b", "link", lab.RouterIfC, "address", newMAC, "type", "macvlan", "mode", "bridge"},
				{"ip", "addr", "add", "198.18.1.3/24", "dev", "r0b"},
				{"ip", "link", "set", "r0b", "up"},
				{"sysctl", "-qw", "net.ipv4.conf.r0b.rp_filter=0"},
			},
			filter: "ether dst %s and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn and dst port %d",
		},
		{
			// The NDP socket kept open solicits the new gateway.
			name: "ipv6", dst: netip.AddrPortFrom(lab.ServerV6, lab.PortDrop), client: lab.ClientV6,
			newGW: "fd00:1::3", server: "fd00:2::/64",
			setup: [][]string{
				{"ip", "link", "add", "r0b", "link", lab.RouterIfC, "address", newMAC, "type", "macvlan", "mode", "bridge"},
				{"ip", "addr", "add", "fd00:1::3/64", "dev", "r0b", "nodad"},
				{"ip", "link", "set", "r0b", "up"},
				{"sysctl", "-qw", "net.ipv6.conf.r0b.forwarding=1"},
			},
			filter: "ether dst %s and ip6 and tcp and ip6[53] & 0x12 == 0x02 and dst port %d",
		},
	} {
		t.Run(fam.name, func(t *testing.T) {
			l := labtest.New(t)
			for _, c := range fam.setup {
				if o, err := l.Exec(l.Router, c...); err != nil {
					t.Fatalf("%s: %v\n%s", strings.Join(c, " "), err, o)
				}
			}
			if o, err := l.Exec(l.Client, "sysctl", "-qw", "net.ipv4.tcp_syn_retries=2"); err != nil {
				t.Fatalf("sysctl: %v\n%s", err, o)
			}
			toNew, err := l.Capture(l.Client, lab.ClientIf, fmt.Sprintf(fam.filter, newMAC, fam.dst.Port()))
			if err != nil {
				t.Fatal(err)
			}
			r := sideBySide(t, l, fam.dst, 15*time.Second, 300*time.Millisecond,
				[][]string{{"ip", "route", "replace", fam.server, "via", fam.newGW, "dev", lab.ClientIf}})
			pkts, err := toNew.Stop()
			if err != nil {
				t.Fatal(err)
			}
			mine := fmt.Sprintf(" %s.%d > ", fam.client, r.res.SourcePort)
			kernelNew, probeNew := 0, 0
			for _, p := range pkts {
				if strings.Contains(p.Line, mine) {
					probeNew++
				} else {
					kernelNew++
				}
			}
			took := time.Duration(r.res.DurationMs * float64(time.Millisecond))
			t.Logf("kernel: %s after %v, SYNs %v (%d to the new gateway); tcpprobe: %s after %v, SYNs %v (%d to the new gateway)",
				r.kernelErrno, r.kernelTook.Round(time.Millisecond), r.kernelSYNs, kernelNew, r.res.Errno, took.Round(time.Millisecond), r.probeSYNs, probeNew)
			if r.res.Errno != r.kernelErrno {
				t.Errorf("tcpprobe says %s, the kernel %s", r.res.Errno, r.kernelErrno)
			}
			if !sameTimes(r.kernelSYNs, r.probeSYNs) {
				t.Errorf("SYNs on the wire: kernel %v, tcpprobe %v (each within 100 ms + 5 %%)", r.kernelSYNs, r.probeSYNs)
			}
			if kernelNew == 0 || probeNew != kernelNew {
				t.Errorf("SYNs to the new gateway: kernel %d, tcpprobe %d (want the same, and some)", kernelNew, probeNew)
			}
		})
	}
}
